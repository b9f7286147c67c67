import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_EXCLUDES } from '@port-linker/forward';
import { assertHarnessAvailable } from './preflight.ts';
import { killTree } from './process-tree.ts';
import { type RunResult, run, waitFor } from './run.ts';

export type ServiceMode = 'tcp-echo' | 'udp-echo' | 'http' | 'tcp-listen';
const SERVICE = join(dirname(fileURLToPath(import.meta.url)), 'service.mjs');
/** `sh -c` body: bind-mount $1 over /root/.bashrc, then exec the rest of the arguments (see quietShell). */
const MOUNT_THEN_EXEC = 'f=$1; shift; mount --bind "$f" /root/.bashrc && exec "$@"';

/** Options of a harness remote host. */
export interface RemoteHostOptions {
  /** Extra sshd_config lines (e.g. `AllowTcpForwarding no`, `PasswordAuthentication yes`). */
  sshdConfig?: string[];
  /** Offer the SFTP subsystem, as Debian's sshd does (default true). */
  sftp?: boolean;
  /** Put this host behind another: its veth pair links to `behind`'s namespace, not the root one. */
  behind?: RemoteHost;
  /**
   * Hide this machine's `~root/.bashrc` from sshd and its sessions (an empty file bind-mounted over it, in the
   * private mount namespace `ip netns exec` gives sshd). bash sources ~/.bashrc even for `bash -c` when sshd runs it,
   * and this dev machine's one runs `pyenv init` (~110-150 ms per SSH exec): the benchmark wants a remote whose
   * shell start-up is as cheap as Debian's default ~/.bashrc, which returns at once when not interactive.
   */
  quietShell?: boolean;
  /** Also give both ends of the veth an IPv6 address (a random fd00::/8 /64) and have sshd listen on it: `address6`. */
  ipv6?: boolean;
}

/** A service started inside the namespace. */
export interface Service {
  child: ChildProcess;
  /** The port it listens on (resolved when 0 was asked). */
  port: number;
  stop(): Promise<void>;
}

/** A test service on this machine, outside any namespace (the "service on the host" that `-R` reaches). */
export function serveLocally(mode: ServiceMode, port = 0, bind = '127.0.0.1'): Promise<Service> {
  const child = spawn(process.execPath, [SERVICE, mode, String(port), bind], { stdio: ['ignore', 'pipe', 'pipe'] });
  return serviceReady(child, `${mode} ${bind}:${port}`);
}

/** Resolves once a service.mjs child printed `ready PORT`; stop() kills it. */
function serviceReady(child: ChildProcess, what: string): Promise<Service> {
  return new Promise<Service>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\d+)/.exec(out);
      if (m)
        resolve({
          child,
          port: Number(m[1]),
          stop: async () => {
            if (hasExited(child) || !child.pid) return;
            const gone = new Promise((r) => child.once('exit', r));
            killTree(child.pid, 'SIGKILL');
            await gone;
          },
        });
    });
    child.on('exit', (code) => reject(new Error(`service ${what} exited ${code}: ${err.trim()}`)));
  });
}

let counter = 0;
let orphansRemoved = false;

/**
 * Deletes namespaces (and their veth) left by harness processes that died without cleaning up
 * (a test file killed by a timeout): names carry the creator's pid, and a dead creator's host is garbage.
 */
async function removeOrphans(): Promise<void> {
  if (orphansRemoved) return;
  orphansRemoved = true;
  const list = await run(['ip', 'netns', 'list'], { allowFail: true });
  for (const line of list.stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = /^pl([0-9a-z]+)_/.exec(name);
    if (!m) continue;
    const pid = Number.parseInt(m[1] ?? '', 36);
    try {
      process.kill(pid, 0);
      continue; // creator alive
    } catch {
      // creator gone
    }
    const pids = await run(['ip', 'netns', 'pids', name], { allowFail: true });
    for (const p of pids.stdout.split('\n').filter(Boolean)) killTree(Number(p), 'SIGKILL');
    await run(['ip', 'link', 'del', `${name}a`], { allowFail: true });
    await run(['ip', 'netns', 'del', name], { allowFail: true });
  }
}

/** Whether a child already exited (by code or by signal: a signalled child has exitCode null). */
function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** The first 48 bits of a random unique-local /64 (`fdxx:xxxx:xxxx`; the subnet id stays 0). */
function pickSubnet6(): string {
  const h = randomBytes(5).toString('hex');
  return `fd${h.slice(0, 2)}:${h.slice(2, 6)}:${h.slice(6, 10)}`;
}

function pickSubnet(): string {
  // 10.<100..249>.<0..255>: random per host; checked against addresses in use below.
  const b = randomBytes(2);
  return `10.${100 + ((b[0] ?? 0) % 150)}.${b[1] ?? 0}`;
}

/**
 * A real "remote host" for tests: a fresh network namespace joined to its parent by a veth pair,
 * a private OpenSSH sshd listening on <subnet>.2:22 inside it, and generated ed25519 keys.
 * Everything it starts is killed by PID in `close()`; the namespace and veth are deleted.
 */
export class RemoteHost {
  readonly ns: string;
  /** Address of the sshd (inside the namespace). */
  readonly address: string;
  /** Address of the parent side of the veth pair. */
  readonly gateway: string;
  /** The sshd's IPv6 address when started with `ipv6: true` (e.g. `fd5e:1c2a:9b01::2`). */
  readonly address6: string | undefined;
  readonly port = 22;
  readonly user = 'root';
  /** Private temp dir (0700) holding keys, config and logs. */
  readonly dir: string;
  readonly clientKeyPath: string;
  readonly knownHostsPath: string;
  readonly hostPublicKey: string;
  readonly #options: RemoteHostOptions;
  #sshd: ChildProcess | undefined;
  #services = new Set<ChildProcess>();
  #users: string[] = [];
  #closed = false;

  private constructor(ns: string, subnet: string, dir: string, options: RemoteHostOptions) {
    this.ns = ns;
    this.address = `${subnet}.2`;
    this.gateway = `${subnet}.1`;
    this.address6 = options.ipv6 ? `${pickSubnet6()}::2` : undefined;
    this.dir = dir;
    this.clientKeyPath = join(dir, 'id_ed25519');
    this.knownHostsPath = join(dir, 'known_hosts');
    this.hostPublicKey = '';
    this.#options = options;
  }

  /** Creates the namespace, keys and sshd; resolves once sshd accepts connections. */
  static async start(options: RemoteHostOptions = {}): Promise<RemoteHost> {
    assertHarnessAvailable();
    await removeOrphans();
    // pl<creator pid, base 36>_<counter><random>: at most 12 chars, so `${ns}a` fits the 15-char interface limit
    const ns = `pl${process.pid.toString(36)}_${(counter++).toString(36)}${randomBytes(1).toString('hex')}`.slice(
      0,
      12,
    );
    const used = (await run(['ip', '-o', '-4', 'addr', 'show'])).stdout;
    let subnet = pickSubnet();
    while (used.includes(` ${subnet}.`)) subnet = pickSubnet();
    const dir = mkdtempSync(join(tmpdir(), 'port-linker-host-'));
    const host = new RemoteHost(ns, subnet, dir, options);
    try {
      await host.#createNetwork(subnet);
      await host.#createKeys();
      await host.startSshd();
    } catch (err) {
      await host.close();
      throw err;
    }
    return host;
  }

  async #createNetwork(subnet: string): Promise<void> {
    const a = `${this.ns}a`;
    const b = `${this.ns}b`;
    const parent = this.#options.behind?.ns;
    await run(['ip', 'netns', 'add', this.ns]);
    await run(['ip', 'link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
    await run(['ip', 'link', 'set', b, 'netns', this.ns]);
    if (parent) await run(['ip', 'link', 'set', a, 'netns', parent]);
    const inParent = parent ? ['ip', '-n', parent] : ['ip'];
    await run([...inParent, 'addr', 'add', `${subnet}.1/24`, 'dev', a]);
    await run([...inParent, 'link', 'set', a, 'up']);
    await run(['ip', '-n', this.ns, 'addr', 'add', `${subnet}.2/24`, 'dev', b]);
    await run(['ip', '-n', this.ns, 'link', 'set', b, 'up']);
    await run(['ip', '-n', this.ns, 'link', 'set', 'lo', 'up']);
    if (this.address6) {
      // nodad: usable at once (duplicate address detection would hold them "tentative" for a second or two)
      const prefix = this.address6.slice(0, -1);
      await run([...inParent, '-6', 'addr', 'add', `${prefix}1/64`, 'dev', a, 'nodad']);
      await run(['ip', '-n', this.ns, '-6', 'addr', 'add', `${this.address6}/64`, 'dev', b, 'nodad']);
    }
  }

  async #createKeys(): Promise<void> {
    await run([
      'ssh-keygen',
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      'harness-host',
      '-f',
      join(this.dir, 'host_ed25519'),
    ]);
    await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'harness-client', '-f', this.clientKeyPath]);
    writeFileSync(join(this.dir, 'authorized_keys'), readFileSync(`${this.clientKeyPath}.pub`));
    const pub = readFileSync(join(this.dir, 'host_ed25519.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    (this as { hostPublicKey: string }).hostPublicKey = pub;
    const names = this.address6 ? `${this.address},${this.address6}` : this.address;
    writeFileSync(this.knownHostsPath, `${names} ${pub}\n`, { mode: 0o600 });
    const config = [
      `ListenAddress ${this.address}:${this.port}`,
      ...(this.address6 ? [`ListenAddress [${this.address6}]:${this.port}`] : []),
      `HostKey ${join(this.dir, 'host_ed25519')}`,
      `AuthorizedKeysFile ${join(this.dir, 'authorized_keys')} .ssh/authorized_keys`,
      `PidFile ${join(this.dir, 'sshd.pid')}`,
      'StrictModes no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'MaxStartups 200:30:400',
      'MaxSessions 200',
      ...(this.#options.sshdConfig ?? []),
      ...(this.#options.sftp === false || (this.#options.sshdConfig ?? []).some((l) => /^\s*Subsystem\s+sftp/i.test(l))
        ? []
        : ['Subsystem sftp internal-sftp']),
    ];
    writeFileSync(join(this.dir, 'sshd_config'), `${config.join('\n')}\n`);
  }

  /** The client private key (OpenSSH format). */
  get clientKey(): Buffer {
    return readFileSync(this.clientKeyPath);
  }

  /** Options for OpenSSH's `ssh` that reach this host with its key and known_hosts. */
  sshArgs(): string[] {
    return [
      ...this.portLinkerArgs(),
      '-o',
      'BatchMode=yes',
      '-o',
      'LogLevel=ERROR',
      '-p',
      String(this.port),
      `${this.user}@${this.address}`,
    ];
  }

  /**
   * Options that make port-linker (or ssh) reach this host with its key and known_hosts (the target goes last:
   * `target`).
   */
  portLinkerArgs(): string[] {
    return [
      '-i',
      this.clientKeyPath,
      '-o',
      `UserKnownHostsFile=${this.knownHostsPath}`,
      '-o',
      'StrictHostKeyChecking=yes',
    ];
  }

  /**
   * Writes a `port-linker.yml` with one profile `box` that reaches this host with its key and known_hosts, plus
   * `extra` lines of the profile (already indented by four spaces).
   */
  writeProfile(file: string, extra: string[] = []): void {
    const lines = [
      'version: 1',
      'profiles:',
      '  box:',
      `    host: ${this.target}`,
      `    identity: ${this.clientKeyPath}`,
      `    options: { UserKnownHostsFile: ${this.knownHostsPath}, StrictHostKeyChecking: "yes" }`,
      ...extra,
      '',
    ];
    writeFileSync(file, lines.join('\n'));
  }

  /** `user@address` of this host. */
  get target(): string {
    return `${this.user}@${this.address}`;
  }

  /** Starts (or restarts) sshd; resolves once it listens. */
  async startSshd(): Promise<void> {
    if (this.#sshd) return;
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation dir: sshd refuses to start without it
    const log = join(this.dir, 'sshd.log');
    const argv = ['/usr/sbin/sshd', '-D', '-e', '-f', join(this.dir, 'sshd_config'), '-E', log];
    // `exec` keeps the PID: the child stays sshd itself (stopSshd kills it and its session processes)
    const sshd = spawn('ip', this.#sshdArgv(argv), { stdio: 'ignore' });
    this.#sshd = sshd;
    let exited = false;
    sshd.on('exit', () => {
      exited = true;
    });
    await waitFor(
      async () => {
        if (exited) throw new Error(`sshd exited at start: ${this.sshdLog().trim().split('\n').pop() ?? ''}`);
        const out = await this.exec(['ss', '-Hltn', `sport = :${this.port}`]);
        return out.stdout.trim() !== '';
      },
      'sshd to listen',
      10_000,
    );
  }

  /** Kills sshd and every per-connection child (existing SSH sessions drop, like a server restart). */
  async stopSshd(): Promise<void> {
    const sshd = this.#sshd;
    if (!sshd?.pid) return;
    this.#sshd = undefined;
    const gone = new Promise((r) => (hasExited(sshd) ? r(null) : sshd.once('exit', r)));
    killTree(sshd.pid, 'SIGKILL');
    await gone;
  }

  /**
   * Restarts the sshd listener the way a service manager does (`systemctl restart ssh`: SIGTERM to the listener
   * only): connected sessions live on, new connections meet the new sshd.
   */
  async restartSshdListener(): Promise<void> {
    const sshd = this.#sshd;
    if (!sshd?.pid) return this.startSshd();
    this.#sshd = undefined;
    const gone = new Promise((r) => (hasExited(sshd) ? r(null) : sshd.once('exit', r)));
    sshd.kill('SIGTERM');
    await gone;
    await this.startSshd();
  }

  /** What sshd logged so far. */
  sshdLog(): string {
    try {
      return readFileSync(join(this.dir, 'sshd.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Runs a command inside the namespace (no shell) and waits for it. */
  exec(argv: readonly string[], opts: { allowFail?: boolean; input?: string } = {}): Promise<RunResult> {
    return run(['ip', 'netns', 'exec', this.ns, ...argv], opts);
  }

  /** `ip` arguments that run an sshd in the namespace, behind the empty ~/.bashrc with quietShell. */
  #sshdArgv(argv: readonly string[]): string[] {
    const quiet = this.#options.quietShell && existsSync('/root/.bashrc');
    if (!quiet) return ['netns', 'exec', this.ns, ...argv];
    writeFileSync(join(this.dir, 'empty.bashrc'), '');
    return ['netns', 'exec', this.ns, 'sh', '-c', MOUNT_THEN_EXEC, 'sh', join(this.dir, 'empty.bashrc'), ...argv];
  }

  /**
   * Starts another sshd in the namespace (a second address or config), killed by `close()`. Its sessions see the
   * same ~/.bashrc as the main sshd's (the empty one with quietShell): without it, a WAN row's remote shells ran
   * this machine's `pyenv init`, which waits 60 s on a lock a killed session left behind.
   */
  spawnSshd(argv: readonly string[]): ChildProcess {
    const child = spawn('ip', this.#sshdArgv(argv), { stdio: 'ignore' });
    this.#services.add(child);
    child.on('exit', () => this.#services.delete(child));
    return child;
  }

  /** Starts a long-running process inside the namespace; killed by `close()`. */
  spawn(argv: readonly string[], stdio: 'ignore' | 'pipe' = 'pipe'): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.ns, ...argv], { stdio });
    this.#services.add(child);
    child.on('exit', () => this.#services.delete(child));
    return child;
  }

  /**
   * Starts a test service (`tcp-echo`, `udp-echo`, `http`, `tcp-listen`) in the namespace; resolves when listening.
   * With port 0, a port that port-linker excludes by default (41641 is in the ephemeral range) is traded for another.
   */
  async serve(mode: ServiceMode, port = 0, bind = '0.0.0.0', options: { name?: string } = {}): Promise<Service> {
    let program = process.execPath;
    if (options.name) {
      // a process the scanner sees as `name` (its argv0 is a link to node named so)
      program = join(this.dir, options.name);
      if (!existsSync(program)) symlinkSync(process.execPath, program);
    }
    for (;;) {
      const service = await this.#serveOnce(mode, port, bind, program);
      if (port !== 0 || !DEFAULT_EXCLUDES.includes(service.port)) return service;
      await service.stop();
    }
  }

  #serveOnce(mode: ServiceMode, port: number, bind: string, program: string): Promise<Service> {
    return serviceReady(this.spawn([program, SERVICE, mode, String(port), bind]), `${mode} ${bind}:${port}`);
  }

  /**
   * Creates a login account with a password (accounts are shared by every namespace: the name must be unique).
   * The password goes in on stdin, never argv; `close()` deletes the account.
   */
  async addUser(name: string, password: string): Promise<void> {
    await run(['useradd', '-M', '-N', '-s', '/bin/sh', '-d', this.dir, name]);
    this.#users.push(name);
    await run(['chpasswd'], { input: `${name}:${password}\n` });
  }

  /**
   * Gives the namespace `count` more IPv4 addresses in its subnet (.10, .11, ...) and restarts sshd listening on all
   * of them (on the namespace's wildcard address): one sshd that looks like `count` more hosts (the known_hosts file lists them all). Existing sessions drop.
   */
  async addAddresses(count: number): Promise<string[]> {
    if (count < 1 || count > 240) throw new Error('addAddresses: 1 to 240 addresses');
    const subnet = this.address.slice(0, this.address.lastIndexOf('.'));
    const added = Array.from({ length: count }, (_, i) => `${subnet}.${10 + i}`);
    for (const a of added) await run(['ip', '-n', this.ns, 'addr', 'add', `${a}/24`, 'dev', `${this.ns}b`]);
    // sshd listens on at most 16 sockets: the namespace's wildcard instead (nothing else reaches the namespace)
    const config = join(this.dir, 'sshd_config');
    const lines = readFileSync(config, 'utf8').replace(
      `ListenAddress ${this.address}:${this.port}`,
      `ListenAddress 0.0.0.0:${this.port}`,
    );
    writeFileSync(config, lines);
    const known = readFileSync(this.knownHostsPath, 'utf8').trim().split(' ');
    writeFileSync(this.knownHostsPath, `${[known[0], ...added].join(',')} ${known.slice(1).join(' ')}\n`, {
      mode: 0o600,
    });
    await this.stopSshd();
    await this.startSshd();
    return added;
  }

  /** Takes the veth link down (a dropped network: packets vanish, connections hang). */
  async linkDown(): Promise<void> {
    await run([...this.#parentIp(), 'link', 'set', `${this.ns}a`, 'down']);
  }

  /** Brings the veth link back up. */
  async linkUp(): Promise<void> {
    await run([...this.#parentIp(), 'link', 'set', `${this.ns}a`, 'up']);
  }

  #parentIp(): string[] {
    const parent = this.#options.behind?.ns;
    return parent ? ['ip', '-n', parent] : ['ip'];
  }

  /**
   * SIGKILLs whatever still runs in the namespace (sshd session processes, agents, services) and waits until it is
   * gone. Deleting the link first would strand the host side of their TCP connections: a FIN sent after the link is
   * gone never arrives, and a test process holding such a socket (an ssh2 client) never exits.
   */
  async #killNamespaceProcesses(): Promise<void> {
    const pids = async () =>
      (await run(['ip', 'netns', 'pids', this.ns], { allowFail: true })).stdout.split('\n').filter(Boolean).map(Number);
    for (const p of await pids()) killTree(p, 'SIGKILL');
    await waitFor(async () => (await pids()).length === 0, `processes of ${this.ns} to exit`, 5000, 50).catch(() => {});
  }

  /** Kills everything started here (by PID), deletes veth and namespace, removes the temp dir. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const child of this.#services) if (child.pid) killTree(child.pid, 'SIGKILL');
    await this.stopSshd();
    await this.#killNamespaceProcesses();
    for (const user of this.#users) await run(['userdel', user], { allowFail: true });
    await run([...this.#parentIp(), 'link', 'del', `${this.ns}a`], { allowFail: true });
    await run(['ip', 'netns', 'del', this.ns], { allowFail: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
