import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteHost, type Service } from '../../test/harness/index.ts';
import { rssMb } from './measure-process.ts';
import { waitUsable } from './net-probe.ts';

const CLI = join(import.meta.dirname, '../../packages/cli/bin/port-linker.js');

/** N throwaway hosts (namespace + sshd each), each serving one TCP echo. */
export class HostFleet {
  readonly hosts: RemoteHost[];
  readonly services: Service[];
  readonly dir: string;

  private constructor(hosts: RemoteHost[], services: Service[]) {
    this.hosts = hosts;
    this.services = services;
    this.dir = mkdtempSync(join(tmpdir(), 'pl-fleet-'));
    const knownHosts = hosts.map((h) => readFileSync(h.knownHostsPath, 'utf8')).join('');
    // one client key for all, as a user has: with one key per host, sshd's MaxAuthTries (6) refuses the 7th host on
    const key = readFileSync(`${hosts[0]?.clientKeyPath}.pub`);
    for (const h of hosts.slice(1)) appendFileSync(join(h.dir, 'authorized_keys'), key);
    writeFileSync(join(this.dir, 'known_hosts'), knownHosts, { mode: 0o600 });
  }

  static async start(n: number): Promise<HostFleet> {
    const hosts: RemoteHost[] = [];
    // a few at a time: each start creates a namespace and an sshd
    for (let i = 0; i < n; i += 5) {
      hosts.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(5, n - i) }, () => RemoteHost.start({ quietShell: true })),
        )),
      );
    }
    const services = await Promise.all(hosts.map((h) => h.serve('tcp-echo', 0, '127.0.0.1')));
    return new HostFleet(hosts, services);
  }

  /** port-linker arguments that reach the first `n` hosts (every client key, one known_hosts). */
  args(n = this.hosts.length): string[] {
    const some = this.hosts.slice(0, n);
    return [
      '--json',
      '--no-notify',
      '--transport',
      'stdio',
      '-i',
      this.hosts[0]?.clientKeyPath ?? '',
      '-o',
      `UserKnownHostsFile=${join(this.dir, 'known_hosts')}`,
      '-o',
      'StrictHostKeyChecking=yes',
      ...some.map((h) => h.target),
    ];
  }

  async close(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.close()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A port-linker mirroring the first `n` hosts of a fleet; resolves once every host's echo is usable locally. */
interface Mirror {
  child: ChildProcess;
  ms: number;
  home: string;
  /** forward_added events seen so far. */
  added: () => number;
}

async function mirror(fleet: HostFleet, n: number): Promise<Mirror> {
  const home = mkdtempSync(join(tmpdir(), 'pl-fleet-home-'));
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, ...fleet.args(n)], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, PORT_LINKER_HOME: home },
  });
  const wanted = new Map(fleet.hosts.slice(0, n).map((h, i) => [h.target, fleet.services[i]?.port]));
  let added = 0;
  const locals = await new Promise<number[]>((resolve, reject) => {
    const found = new Map<string, number>();
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`only ${found.size}/${n} hosts mirrored within 60 s`)), 60_000);
    child.once('exit', (code) => reject(new Error(`port-linker exited ${code}`)));
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const e = JSON.parse(buf.slice(0, nl)) as {
          event: string;
          host: string;
          remote_port: number;
          local_port: number;
        };
        buf = buf.slice(nl + 1);
        if (e.event === 'forward_added') added++;
        if (e.event === 'forward_added' && wanted.get(e.host) === e.remote_port) found.set(e.host, e.local_port);
      }
      if (found.size === n) {
        clearTimeout(timer);
        resolve([...found.values()]);
      }
    });
  });
  await Promise.all(locals.map((p) => waitUsable(p, 15_000)));
  return { child, ms: performance.now() - t0, home, added: () => added };
}

const LISTENERS = join(import.meta.dirname, 'listeners.mjs');

/**
 * Every host opens `perHost` listeners at once (on 42000-...): the time until port-linker has reported all of them
 * (forward_added on --json), as events per second.
 */
async function eventRate(fleet: HostFleet, m: Mirror, perHost: number): Promise<number> {
  const before = m.added();
  const want = before + perHost * fleet.hosts.length;
  const procs = fleet.hosts.map((h) => h.spawn([process.execPath, LISTENERS]));
  try {
    const t0 = performance.now();
    for (const p of procs) p.stdin?.write(`listen 42000 ${perHost}\n`);
    const deadline = t0 + 30_000;
    while (m.added() < want) {
      if (performance.now() > deadline) throw new Error(`only ${m.added() - before}/${want - before} forwards in 30 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return ((want - before) * 1000) / (performance.now() - t0);
  } finally {
    for (const p of procs) p.stdin?.end();
  }
}

async function stop(m: Mirror): Promise<void> {
  const exited = new Promise((r) => m.child.once('exit', r));
  m.child.kill('SIGINT');
  await exited;
  rmSync(m.home, { recursive: true, force: true });
}

/**
 * `port-linker h1 ... hN` (N = the fleet's size): start -> every host's first port usable, and the host process's
 * RSS per host beyond the first (RSS with N hosts minus RSS with 1 host, over N - 1; both after 3 s of steady state),
 * then the event throughput when every host opens 25 listeners at once.
 */
export async function manyHostsFigures(
  fleet: HostFleet,
): Promise<{ startMs: number; rssPerHostMb: number; rssMb: number; eventsPerS: number }> {
  const n = fleet.hosts.length;
  const one = await mirror(fleet, 1);
  await new Promise((r) => setTimeout(r, 3000));
  const rss1 = rssMb(one.child.pid ?? 0);
  await stop(one);
  const all = await mirror(fleet, n);
  try {
    await new Promise((r) => setTimeout(r, 3000));
    const rssN = rssMb(all.child.pid ?? 0);
    const eventsPerS = await eventRate(fleet, all, 25);
    return { startMs: all.ms, rssPerHostMb: (rssN - rss1) / (n - 1), rssMb: rssN, eventsPerS };
  } finally {
    await stop(all);
  }
}
