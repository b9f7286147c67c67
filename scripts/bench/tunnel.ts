import { type ChildProcess, spawn } from 'node:child_process';
import type { RemoteHost } from '../../test/harness/index.ts';
import { CliProcess } from '../../test/support/cli-process.ts';
import type { Side } from './bench-types.ts';
import { stopChild, track } from './cleanup.ts';

/** The cipher pinned on both sides (ssh2's first choice with AES-NI; OpenSSH's is chacha20-poly1305). */
export const CIPHER = 'aes128-gcm@openssh.com';

let agentTransport = 'stdio';

/** The agent transport port-linker is told to use in auto mode (`--transport`; the bench pins stdio by default). */
export function setAgentTransport(kind: string): void {
  agentTransport = kind;
}

let dataPath = 'auto';

/** port-linker's `--data-path` in every tunnel of the run (`npm run bench -- --data-path ssh|direct|auto`). */
export function setDataPath(kind: string): void {
  dataPath = kind;
}

/** The data path asked of port-linker tunnels. */
export function getDataPath(): string {
  return dataPath;
}

/** The agent transport in use for auto-mode rows. */
export function getAgentTransport(): string {
  return agentTransport;
}

/** Where and how to log in (the harness host, or its address behind the WAN relay). */
export interface SshTarget {
  address: string;
  user: string;
  keyPath: string;
  knownHostsPath: string;
}

/** The harness host's own address and credentials. */
export function targetOf(host: RemoteHost): SshTarget {
  return { address: host.address, user: host.user, keyPath: host.clientKeyPath, knownHostsPath: host.knownHostsPath };
}

/** A running `ssh -N -L ...` or `port-linker ...`. */
export interface Tunnel {
  side: Side;
  child: ChildProcess;
  /** performance.now() just before spawn. */
  startedAt: number;
  /** Set for port-linker: its parsed --json events. */
  cli?: CliProcess;
  /** port-linker will say its data path (a `data_path` event): not with --data-path ssh, nor auto without mirroring. */
  choosesDataPath?: boolean;
  /** A reason when the process already exited, else undefined. */
  dead(): string | undefined;
  stop(): Promise<void>;
}

/** Options of a tunnel. */
export interface TunnelOptions {
  /** Remote ports forwarded to the same local port with -L. */
  forwards?: number[];
  /** port-linker only: mirror automatically (no --no-auto). */
  auto?: boolean;
  /** port-linker auto mode: `--transport` (default: setAgentTransport()). */
  transport?: string;
  /** port-linker: `--data-path` (default: setDataPath()). */
  dataPath?: string;
  /** Extra environment (port-linker). */
  env?: NodeJS.ProcessEnv;
  /** Extra arguments before the destination. */
  extra?: string[];
}

function commonOptions(t: SshTarget): string[] {
  return [
    '-F',
    '/dev/null',
    '-i',
    t.keyPath,
    '-o',
    `UserKnownHostsFile=${t.knownHostsPath}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `Ciphers=${CIPHER}`,
  ];
}

/** port-linker's command line for a tunnel (after the program). */
export function portLinkerArgs(t: SshTarget, opts: TunnelOptions = {}): string[] {
  return [
    '--json',
    '--no-notify',
    ...commonOptions(t),
    ...(opts.auto ? ['--transport', opts.transport ?? agentTransport] : ['--no-auto']),
    '--data-path',
    opts.dataPath ?? dataPath,
    ...(opts.forwards ?? []).flatMap((p) => ['-L', `${p}:127.0.0.1:${p}`]),
    ...(opts.extra ?? []),
    `${t.user}@${t.address}`,
  ];
}

/**
 * Waits until a port-linker tunnel chose its data path (the direct path comes up after the agent; rows measured
 * before it would measure SSH channels). No-op for OpenSSH and for `--data-path ssh`.
 */
export async function waitDataPath(t: Tunnel, timeoutMs = 20_000): Promise<string> {
  if (!t.cli || !t.choosesDataPath) return 'ssh';
  const e = await t.cli.waitEvent((x) => x.event === 'data_path', 'data_path event', timeoutMs);
  return String((e as { kind?: string }).kind);
}

/** Starts OpenSSH or port-linker forwarding `forwards` (remote 127.0.0.1:p -> local 127.0.0.1:p). */
export function startTunnel(side: Side, t: SshTarget, opts: TunnelOptions = {}): Tunnel {
  const forwards = (opts.forwards ?? []).flatMap((p) => ['-L', `${p}:127.0.0.1:${p}`]);
  const dest = `${t.user}@${t.address}`;
  const startedAt = performance.now();
  if (side === 'openssh') {
    let stderr = '';
    const child = spawn(
      'ssh',
      [
        '-N',
        ...commonOptions(t),
        '-o',
        'ExitOnForwardFailure=yes',
        '-o',
        'BatchMode=yes',
        '-o',
        'LogLevel=ERROR',
        '-o',
        'ControlMaster=no',
        '-o',
        'ControlPath=none',
        ...forwards,
        ...(opts.extra ?? []),
        dest,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    track(child);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    return {
      side,
      child,
      startedAt,
      dead: () => (child.exitCode !== null ? `ssh exited ${child.exitCode}: ${stderr.trim()}` : undefined),
      stop: () => stopChild(child),
    };
  }
  const cli = new CliProcess(portLinkerArgs(t, opts), { PORT_LINKER_LOG: 'warn', ...opts.env });
  track(cli.child);
  const kind = opts.dataPath ?? dataPath;
  return {
    side,
    child: cli.child,
    startedAt,
    cli,
    choosesDataPath: kind === 'direct' || kind === 'openssh' || (kind === 'auto' && opts.auto === true),
    dead: () =>
      cli.child.exitCode !== null ? `port-linker exited ${cli.child.exitCode}: ${cli.stderr.slice(-2000)}` : undefined,
    stop: async () => {
      await stopChild(cli.child, 'SIGINT');
    },
  };
}
