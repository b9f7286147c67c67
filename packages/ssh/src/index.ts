export {
  type ResolvedHost,
  type ResolveEnv,
  resolveHost,
  type SshCliOptions,
  type StrictHostKeyChecking,
} from './config-resolve.ts';
export { type ConnectOptions, connect } from './connect.ts';
export { type ExecChannel, type ExecResult, SshConnection } from './connection.ts';
export {
  AuthError,
  ChannelError,
  ConnectError,
  HostKeyError,
  HostKeyProblem,
  hostLabel,
  SshUsageError,
} from './errors.ts';
export {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  knownHostName,
  parseKnownHosts,
} from './known-hosts.ts';
export { type Prompter, ttyPrompter } from './prompt.ts';
export type { LogFn, LogLevel } from './ssh-log.ts';
export { nativeCryptoAvailable } from './ssh2-algorithms.ts';
export { parseJumpList, parseTarget, type SshTarget } from './target.ts';
