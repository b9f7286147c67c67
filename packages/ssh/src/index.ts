export { SSH2_WINDOW, windowForRoundTrip } from './channel-window.ts';
export { type ConfigTraceEntry, traceConfig } from './config-evaluate.ts';
export {
  type ResolvedHost,
  type ResolveEnv,
  resolveHost,
  type SshCliOptions,
  type StrictHostKeyChecking,
} from './config-resolve.ts';
export { type ConnectObserver, type ConnectOptions, connect } from './connect.ts';
export {
  type ExecChannel,
  type ExecResult,
  type ForwardedConnection,
  type SpawnOptions,
  SshConnection,
} from './connection.ts';
export {
  AuthError,
  ChannelError,
  ConnectError,
  HostKeyError,
  HostKeyProblem,
  hostLabel,
  SshUsageError,
} from './errors.ts';
export { type CopyProgress, type CopyRequest, type CopyResult, copyFiles, remotePath } from './file-copy.ts';
export {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  type KnownHostEntry,
  type KnownHostStatus,
  keyTypeLabel,
  keyTypeOfBlob,
  knownHostName,
  parseKnownHosts,
  readKnownHostsFile,
} from './known-hosts.ts';
export { passwordFilePrompter, readPasswordFile } from './password-file.ts';
export { type Prompter, ttyPrompter } from './prompt.ts';
export type { LogFn, LogLevel } from './ssh-log.ts';
export { nativeCryptoAvailable } from './ssh2-algorithms.ts';
export { parseJumpList, parseTarget, type SshTarget } from './target.ts';
