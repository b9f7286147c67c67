// The light entry point for clients of the daemon (@port-linker/client, the CLI's commands): no engine, no ssh2.

export type { PooledView } from './connection-pool.ts';
export type { CopyBody } from './copy-request.ts';
export type { DashboardState, HostView } from './daemon.ts';
export { lockHolder } from './daemon-lock.ts';
export type { LogRecord } from './daemon-log.ts';
export { type DaemonPaths, daemonPaths } from './daemon-paths.ts';
export { noRoomToStart } from './disk-room.ts';
export type { HistoryEntry } from './host-history.ts';
export type { HostSpec } from './host-spec.ts';
export type { Lease } from './lease-registry.ts';
export type { LookupAnswer } from './service-lookup.ts';
