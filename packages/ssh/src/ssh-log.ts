/** Log levels the SSH layer reports at. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
/** A log sink; never receives secrets. */
export type LogFn = (level: LogLevel, msg: string) => void;
/** Discards everything. */
export const silentLog: LogFn = () => {};
