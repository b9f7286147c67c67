import type { PortAttributes } from '@port-linker/forward';

export type { OnForward } from '@port-linker/forward';

/** The value sets of the per-host command-line flags (packages/cli/src/cli-options.ts), shared by profiles. */
export const PROTOCOLS = ['tcp', 'udp', 'both'] as const;
export const TRANSPORTS = ['auto', 'stdio', 'tcp', 'quic'] as const;
export const CONFLICT_POLICIES = ['remap', 'skip', 'kill'] as const;
export const AGENT_MODES = ['auto', 'node', 'binary', 'none'] as const;
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'trace'] as const;
export const FORWARD_TYPES = ['local', 'remote', 'dynamic'] as const;
export { ON_FORWARD } from '@port-linker/forward';

export type Protocol = (typeof PROTOCOLS)[number];
export type Transport = (typeof TRANSPORTS)[number];
export type ConflictPolicy = (typeof CONFLICT_POLICIES)[number];
export type AgentMode = (typeof AGENT_MODES)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];
export type ForwardType = (typeof FORWARD_TYPES)[number];

/** What a profile gets for each field it leaves out: the command line's defaults. */
export const PROFILE_DEFAULTS = Object.freeze({
  auto: true,
  protocol: 'both',
  transport: 'auto',
  conflict: 'remap',
  agent: 'auto',
  defaultExcludes: true,
  logLevel: 'info',
} as const satisfies {
  auto: boolean;
  protocol: Protocol;
  transport: Transport;
  conflict: ConflictPolicy;
  agent: AgentMode;
  defaultExcludes: boolean;
  logLevel: LogLevel;
});

/** Where something was written: 1-based line and column. */
export interface SourcePosition {
  file: string;
  line: number;
  col: number;
}

/** One `forwards:` entry. `spec` is in the form of the matching flag (`-L`, `-R`, `-D`). */
export interface ProfileForward {
  name?: string;
  /** Only `local` runs today; callers refuse the others (hostOptionsFromProfile does). */
  type: ForwardType;
  /** `-L [bind:]local:host:remote`, `-R [bind:]remote:host:local` or `-D [bind:]port`. */
  spec: string;
  at: SourcePosition;
}

/** One saved host, with every default filled in. Field names match the engine's HostOptions. */
export interface Profile {
  name: string;
  /** `[user@]host[:port]` or an ssh_config alias. */
  host: string;
  /** `-J` */
  jump?: string;
  /** `-i`, with a leading `~/` expanded. */
  identities: string[];
  /** `-F`, with a leading `~/` expanded. */
  sshConfig?: string;
  /** `-o Key=value`, in file order (booleans as yes/no). */
  sshOptions: Record<string, string>;
  auto: boolean;
  protocol: Protocol;
  transport: Transport;
  agent: AgentMode;
  conflict: ConflictPolicy;
  bindAddress?: string;
  /** `-p`, normalised to `3000,5173,8000-8999`. */
  ports?: string;
  /** `-x`, normalised like ports. */
  exclude?: string;
  defaultExcludes: boolean;
  logLevel: LogLevel;
  forwards: ProfileForward[];
  attributes: PortAttributes;
  /** The profile's name in the file. */
  at: SourcePosition;
}

/** A loaded profiles file. */
export interface ProfilesFile {
  file: string;
  /** In file order. */
  profiles: Profile[];
}
