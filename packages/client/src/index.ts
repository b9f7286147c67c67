// @port-linker/client: the daemon's typed client (the CLI's daemon commands use it too).
export type {
  CopyBody,
  DaemonPaths,
  DashboardState,
  HistoryEntry,
  HostSpec,
  HostView,
  Lease,
  LogRecord,
  LookupAnswer,
  PooledView,
} from '@port-linker/daemon/client';
export { daemonPaths, lockHolder, noRoomToStart } from '@port-linker/daemon/client';
export type { ExecExit, ExecOpen, ExecStarted } from '@port-linker/proto';
export { ControlClient, DaemonApiError, NoDaemonError } from './control-client.ts';
export { type ExecSession, openExec } from './exec-session.ts';
export {
  type ConnectionOptions,
  type CopyOutcome,
  type CopyProgressEvent,
  type DaemonStatus,
  PortLinkerClient,
  type RunResult,
} from './port-linker-client.ts';
