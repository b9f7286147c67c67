import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { ResolvedHost } from '@port-linker/ssh';
import { MuxClient, type MuxForward } from './mux-client.ts';

/** What the master needs to reach the host the way port-linker's own connection did (already resolved). */
export interface MasterTarget {
  hostname: string;
  port: number;
  user: string;
  identityFiles: string[];
  identitiesOnly: boolean;
  userKnownHostsFiles: string[];
  globalKnownHostsFiles?: string[];
  /** `no` only where the user turned checking off; else the key port-linker verified must match. */
  strictHostKeyChecking: 'yes' | 'no';
  /** IdentityAgent (a socket path or `none`); undefined: SSH_AUTH_SOCK. */
  identityAgent?: string;
  serverAliveInterval: number;
  serverAliveCountMax: number;
  /** Seconds. */
  connectTimeout: number;
  /** Ciphers, in order (OpenSSH names); undefined: OpenSSH's default. */
  ciphers?: string[];
}

export interface MasterOptions {
  /** The ssh binary (default: `ssh` on PATH). */
  sshPath?: string;
  /** Aborted: a start still logging in is given up (the child killed), and rejects. */
  signal?: AbortSignal;
  log?: (level: 'warn' | 'info' | 'debug', msg: string) => void;
}

/** Events of a master. */
export interface MasterEvents {
  /** The master process ended; `why` is its last stderr line or its exit status. */
  exit: [why: string];
}

/** `ssh` on PATH, or undefined: the plane is then unavailable. */
export function findSsh(path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'ssh');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The master's view of a resolved host, or why the plane cannot reach it the same way. */
export function masterTarget(host: ResolvedHost): MasterTarget | string {
  if (host.proxyJump.length > 0) return 'jump hosts are not passed to the OpenSSH data plane yet';
  if (host.proxyCommand) return 'ProxyCommand is not passed to the OpenSSH data plane yet';
  return {
    hostname: host.hostname,
    port: host.port,
    user: host.user,
    identityFiles: host.identityFiles,
    identitiesOnly: host.identitiesOnly,
    userKnownHostsFiles: host.userKnownHostsFiles,
    ...(host.globalKnownHostsFiles ? { globalKnownHostsFiles: host.globalKnownHostsFiles } : {}),
    // port-linker's own connection has verified (and, if asked, recorded) the key: the master must see the same
    strictHostKeyChecking: host.strictHostKeyChecking === 'no' ? 'no' : 'yes',
    ...(host.identityAgent ? { identityAgent: host.identityAgent } : {}),
    serverAliveInterval: host.serverAliveInterval,
    serverAliveCountMax: host.serverAliveCountMax,
    connectTimeout: host.connectTimeout,
    ...(host.ciphers ? { ciphers: host.ciphers } : {}),
  };
}

/** util-linux's setpriv: the master gets SIGKILL when port-linker dies, even by kill -9 (PR_SET_PDEATHSIG). */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
});

/** The command line of a master: every option explicit (no config file), nothing secret (key paths only). */
export function masterArgs(t: MasterTarget, controlPath: string): string[] {
  const quote = (files: string[]) => files.map((f) => (/\s/.test(f) ? `"${f}"` : f)).join(' ');
  const o = (k: string, v: string | number) => ['-o', `${k}=${v}`];
  return [
    ...['-F', 'none', '-M', '-S', controlPath, '-N', '-T', '-x', '-a'],
    ...o('ControlPersist', 'no'),
    ...o('BatchMode', 'yes'),
    ...o('ClearAllForwardings', 'yes'),
    ...o('ExitOnForwardFailure', 'no'),
    ...o('StrictHostKeyChecking', t.strictHostKeyChecking),
    ...o('UserKnownHostsFile', quote(t.userKnownHostsFiles.length ? t.userKnownHostsFiles : ['/dev/null'])),
    ...(t.globalKnownHostsFiles ? o('GlobalKnownHostsFile', quote(t.globalKnownHostsFiles)) : []),
    ...o('IdentitiesOnly', t.identitiesOnly ? 'yes' : 'no'),
    ...t.identityFiles.flatMap((f) => ['-i', f]),
    ...(t.identityAgent ? o('IdentityAgent', t.identityAgent) : []),
    ...o('ServerAliveInterval', t.serverAliveInterval),
    ...o('ServerAliveCountMax', t.serverAliveCountMax),
    ...o('ConnectTimeout', t.connectTimeout),
    ...(t.ciphers?.length ? o('Ciphers', t.ciphers.join(',')) : []),
    ...o('LogLevel', 'ERROR'),
    ...['-p', String(t.port), '-l', t.user, '--', t.hostname],
  ];
}

/**
 * One OpenSSH ControlMaster (`ssh -M -N`) for one host, its control socket in a fresh 0700 directory. Forwards are
 * opened and closed over the socket (MUX_C_OPEN_FWD / MUX_C_CLOSE_FWD), so their bytes go between the local
 * client, OpenSSH's client and sshd without passing through Node.
 */
export class OpenSshMaster extends EventEmitter<MasterEvents> {
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #mux: MuxClient;
  #exited = false;
  readonly #exit: Promise<void>;

  private constructor(child: ChildProcess, mux: MuxClient, exit: Promise<void>) {
    super();
    this.#child = child;
    this.pid = child.pid as number;
    this.#mux = mux;
    this.#exit = exit;
  }

  /** Starts the master and resolves once its control socket answers; rejects with ssh's own one-line reason. */
  static async start(target: MasterTarget, options: MasterOptions = {}): Promise<OpenSshMaster> {
    const ssh = options.sshPath ?? findSsh();
    if (!ssh) throw new Error('no ssh client on PATH (install openssh-client)');
    const dir = mkdtempSync(join(tmpdir(), 'pl-ssh-'));
    const controlPath = join(dir, 'ctl');
    const args = masterArgs(target, controlPath);
    const child = SETPRIV
      ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', ssh, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(ssh, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    let exitWhy: string | undefined;
    const exit = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        const last = stderr.trim().split('\n').pop()?.trim();
        exitWhy = last || (signal ? `killed by ${signal}` : `exited ${code}`);
        resolve();
      });
      child.once('error', (err) => {
        exitWhy = err.message;
        resolve();
      });
    });
    const mux = new MuxClient(controlPath);
    const deadline = Date.now() + target.connectTimeout * 1000 + 5000;
    const giveUp = async (why: string): Promise<never> => {
      child.kill('SIGKILL');
      await exit;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`ssh ControlMaster: ${why}`);
    };
    for (;;) {
      if (exitWhy !== undefined) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`ssh ControlMaster: ${exitWhy}`);
      }
      if (options.signal?.aborted) await giveUp('start given up (stopping)');
      if (Date.now() > deadline) await giveUp(`not ready within ${target.connectTimeout + 5} s`);
      const up = await mux.alive(1000).then(
        () => true,
        () => false,
      );
      if (up) break;
      await Promise.race([exit, new Promise((r) => setTimeout(r, 25))]);
    }
    const master = new OpenSshMaster(child, mux, exit);
    void exit.then(() => {
      master.#exited = true;
      rmSync(dir, { recursive: true, force: true });
      master.emit('exit', exitWhy ?? 'exited');
    });
    options.log?.('debug', `ssh ControlMaster up (pid ${master.pid}, ${ssh})`);
    return master;
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** Listens here through the master; rejects with the master's reason (a port in use, ...). */
  openForward(f: MuxForward): Promise<void> {
    return this.#mux.openForward(f);
  }

  /** Stops a forward's listener; its open connections go on. */
  closeForward(f: MuxForward): Promise<void> {
    return this.#mux.closeForward(f);
  }

  /**
   * A connection through the master to `host:port` on the remote (the data path probe's echo): a forward on a free
   * loopback port, connected once, then closed again (the connection goes on).
   */
  async connectThrough(host: string, port: number): Promise<Socket> {
    const listenPort = await freeLoopbackPort();
    const f = { listenHost: '127.0.0.1', listenPort, connectHost: host, connectPort: port };
    await this.openForward(f);
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(listenPort, '127.0.0.1', () => resolve(s)).once('error', reject);
      });
    } finally {
      await this.closeForward(f).catch(() => {});
    }
  }

  /** Ends the master (its forwards' listeners and connections with it) and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.#exited) return;
    this.#child.kill('SIGTERM');
    const late = setTimeout(() => this.#child.kill('SIGKILL'), 2000);
    await this.#exit;
    clearTimeout(late);
  }
}

/** A loopback port nobody listens on just now (the kernel's pick). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
