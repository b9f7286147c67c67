import { styleText } from 'node:util';

/** Host log levels, most to least severe. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'trace'] as const;

/** A log level name. */
export type Level = (typeof LOG_LEVELS)[number];

/** Output shape of log lines. */
export type LogFormat = 'pretty' | 'compact' | 'json';

/** Structured fields attached to a line (`source: 'agent'`, `host`, ...). */
export type Fields = Record<string, string | number | boolean | undefined>;

/** Where finished lines go (stderr in production; an array in tests). */
export type LineSink = (line: string) => void;

/** What a child logger offers (the same calls as Logger). */
export interface ChildLogger {
  log(level: Level, message: string, fields?: Fields): void;
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

/** A leveled logger writing one line per record to stderr: never stdout (that is for --json events). */
export class Logger {
  readonly level: Level;
  readonly #format: LogFormat;
  readonly #sink: LineSink;
  readonly #color: boolean;
  readonly #fields: Fields;
  /** Called before each line is written (lets a live status view clear itself first). */
  beforeWrite: (() => void) | undefined;
  afterWrite: (() => void) | undefined;

  /** `color` only applies to the pretty format. */
  constructor(opts: { level: Level; format: LogFormat; sink: LineSink; color: boolean; fields?: Fields }) {
    this.level = opts.level;
    this.#format = opts.format;
    this.#sink = opts.sink;
    this.#color = opts.color;
    this.#fields = opts.fields ?? {};
  }

  /** Whether records at `level` are written. */
  enabled(level: Level): boolean {
    return LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(this.level);
  }

  /** Writes one record. */
  log(level: Level, message: string, fields: Fields = {}): void {
    if (!this.enabled(level)) return;
    const all = { ...this.#fields, ...fields };
    const ts = new Date().toISOString();
    let line: string;
    if (this.#format === 'json') {
      line = JSON.stringify({ ts, level, msg: message, ...all });
    } else {
      const extra = Object.entries(all)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      const tail = extra ? ` ${this.#color ? styleText('dim', extra) : extra}` : '';
      if (this.#format === 'compact') line = `${ts} ${level.toUpperCase()} ${message}${tail}`;
      else line = `${this.#badge(level)} ${message}${tail}`;
    }
    this.beforeWrite?.();
    this.#sink(line);
    this.afterWrite?.();
  }

  /** A logger that adds `fields` to each line and writes through this one (same level, format and hooks). */
  child(fields: Fields): ChildLogger {
    const log = (level: Level, message: string, more: Fields = {}) => this.log(level, message, { ...fields, ...more });
    return {
      log,
      error: (m) => log('error', m),
      warn: (m) => log('warn', m),
      info: (m) => log('info', m),
      debug: (m) => log('debug', m),
    };
  }

  #badge(level: Level): string {
    const text = level.padEnd(5);
    if (!this.#color) return text;
    const style = { error: 'red', warn: 'yellow', info: 'green', debug: 'blue', trace: 'gray' } as const;
    return styleText(style[level], text);
  }

  /** Shorthands. */
  error(msg: string, f?: Fields): void {
    this.log('error', msg, f);
  }
  warn(msg: string, f?: Fields): void {
    this.log('warn', msg, f);
  }
  info(msg: string, f?: Fields): void {
    this.log('info', msg, f);
  }
  debug(msg: string, f?: Fields): void {
    this.log('debug', msg, f);
  }
}

/** Parses a level name (from --log-level or PORT_LINKER_LOG); undefined when it is not one. */
export function parseLevel(text: string | undefined): Level | undefined {
  const t = text?.trim().toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(t ?? '') ? (t as Level) : undefined;
}
