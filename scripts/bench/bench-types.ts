import type { RemoteHost } from '../../test/harness/index.ts';
import type { Listeners } from './listeners.ts';
import type { BenchServices } from './services.ts';
import type { SshTarget, Tunnel } from './tunnel.ts';

/** The two programs compared; rows measured on port-linker only use just 'port-linker'. */
export const SIDES = ['openssh', 'port-linker'] as const;
/** One of the compared programs. */
export type Side = (typeof SIDES)[number];

/** How a figure compares with its target: a ratio to OpenSSH or an absolute bound. */
export interface Target {
  /** 'ratio' compares port-linker/OpenSSH medians; 'abs' compares the port-linker median. */
  kind: 'ratio' | 'abs';
  op: '>=' | '<=' | '<';
  value: number;
}

/** One line of the table. */
export interface Figure {
  id: string;
  label: string;
  unit: string;
  target?: Target;
}

/** What a row's measure() gets: the host, its services and run settings. */
export interface RowContext {
  host: RemoteHost;
  services: BenchServices;
  /** Where to log in (the WAN address in the 'wan' phase). */
  target: SshTarget;
  /** The running tunnel in the 'tunnel' and 'wan' phases. */
  tunnel?: Tunnel;
  /** Echo listeners on demand inside the namespace. */
  listeners: Listeners;
  /** The agent cache on the remote side (XDG_CACHE_HOME/port-linker), wiped for first-deploy figures. */
  agentCacheDir: string;
  quick: boolean;
  side: Side;
  run: number;
  log(msg: string): void;
}

/**
 * A measurement: one or more figures measured together. `phase` groups rows that share a tunnel:
 * 'tunnel' rows run with a started `ssh -N -L` / `port-linker --no-auto -L` (ctx.services ports forwarded),
 * 'wan' rows the same over the delay/loss relay, 'solo' rows set up what they need themselves ('wan-solo' rows too,
 * with the relay's address as ctx.target).
 */
export interface Row {
  id: string;
  phase: 'tunnel' | 'wan' | 'solo' | 'wan-solo';
  figures: Figure[];
  sides: readonly Side[];
  /** Included in --quick. */
  quick: boolean;
  /** Runs per side (at least 3); default from the command line. */
  runs?: number;
  /** Set when the feature does not exist yet: the row is printed as n/a with this reason. */
  notImplemented?: string;
  /** Measures once for ctx.side; returns figure id -> value. */
  measure?(ctx: RowContext): Promise<Record<string, number>>;
}

/** One measured value with the load average when it was taken. */
export interface Sample {
  side: Side;
  run: number;
  value: number;
  load1: number;
}
