import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ControlClient, type HostView } from '@port-linker/client';
import { onCleanup } from './cleanup.ts';
import { HostFleet } from './measure-hosts.ts';
import { rssMb } from './measure-process.ts';
import { waitUsable } from './net-probe.ts';
import { median } from './stats.ts';

const CLI = join(import.meta.dirname, '../../packages/cli/bin/port-linker.js');

/** The goals of the `daemon` row (rows.ts shows them; a run over one keeps the daemon's log for a look). */
export const DAEMON_GOALS = { upMs: 5000, rssPerHostMb: 3, lsRatio: 2, restoreMs: 2000 } as const;

/** What one `daemon` run measures (see daemonFigures). */
export interface DaemonFigures {
  upMs: number;
  usableMs: number;
  rssPerHostMb: number;
  rssMb: number;
  lsMs: number;
  nodeMs: number;
  lsRatio: number;
  restoreUpMs: number;
  restoreMs: number;
  moved: number;
}

/** How a finished program went: exit code, output and wall time (spawn -> exit). */
export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a program to completion (killed, and rejected, after `timeoutMs`). */
export function runTimed(program: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${program} ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr: ${stderr.trim()}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Runs `node ARGS` to completion. */
function runNode(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Ran> {
  return runTimed(process.execPath, args, env, timeoutMs);
}

/** `port-linker ARGS` in the daemon's environment; throws unless it exits 0. */
async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  const r = await runNode([CLI, ...args], env);
  if (r.code !== 0) {
    const why = (r.stderr.trim().split('\n').slice(-3).join(' | ') || r.stdout.trim()).slice(0, 400);
    throw new Error(`port-linker ${args.join(' ')} exited ${r.code}: ${why}`);
  }
  return r;
}

/** The environment of one throwaway daemon: everything under `home` (socket included). */
function daemonEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT_LINKER_HOME: home };
  delete env.PORT_LINKER_LOG;
  delete env.XDG_RUNTIME_DIR;
  return env;
}

/** The profiles file: one profile per fleet host, its echo port only, pinned to the stdio transport. */
function writeProfiles(fleet: HostFleet, file: string): void {
  const key = fleet.hosts[0]?.clientKeyPath ?? '';
  const knownHosts = join(fleet.dir, 'known_hosts');
  const profile = (i: number) => `  box${i}:
    host: ${fleet.hosts[i]?.target}
    identity: ${key}
    options: { UserKnownHostsFile: ${knownHosts}, StrictHostKeyChecking: "yes" }
    ports: "${fleet.services[i]?.port}"
    protocol: tcp
    transport: stdio
`;
  writeFileSync(file, `version: 1\nprofiles:\n${fleet.hosts.map((_, i) => profile(i)).join('')}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Polls the control socket until every host `boxI` lists the forward of its echo port; the local ports in fleet
 * order.
 */
async function forwardsListed(client: ControlClient, fleet: HostFleet, timeoutMs = 30_000): Promise<number[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const { hosts } = await client.call<{ hosts: HostView[] }>('GET', '/v1/hosts');
    const locals = fleet.services.map((s, i) => {
      const h = hosts.find((x) => x.id === `box${i}`);
      return h?.forwards.find((f) => f.spec.remotePort === s.port && f.spec.protocol === 'tcp')?.localPort;
    });
    const missing = locals.filter((p) => p === undefined).length;
    if (missing === 0) return locals as number[];
    if (performance.now() > deadline) {
      const states = hosts.map((h) => `${h.id}=${h.state}${h.error ? ` (${h.error})` : ''}`).join(', ');
      throw new Error(`${missing}/${locals.length} forwards not listed within ${timeoutMs} ms; hosts: ${states}`);
    }
    await delay(10);
  }
}

/** Every local port usable (one TCP round trip each, in parallel); resolves with when the last one was. */
async function allUsable(ports: number[]): Promise<number> {
  const at = await Promise.all(ports.map((p) => waitUsable(p, 15_000)));
  return Math.max(...at);
}

/**
 * `port-linker ls` (text, every host listed) against `node -e 0`, alternating, `count` of each: the medians (ms) of
 * the wall time spawn -> exit.
 */
async function lsLatency(env: NodeJS.ProcessEnv, count: number, hosts: number): Promise<{ ls: number; node: number }> {
  const ls: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < count; i++) {
    const pair = i % 2 === 0 ? (['node', 'ls'] as const) : (['ls', 'node'] as const);
    for (const which of pair) {
      if (which === 'node') {
        bare.push((await runNode(['-e', '0'], env)).ms);
        continue;
      }
      const r = await cli(['ls'], env);
      const table = r.stdout.split('\n\n')[0] ?? ''; // the hosts table; the forwards table follows a blank line
      const listed = table.split('\n').filter((l) => /^box\d+\s+\S+\s+connected/.test(l)).length;
      if (listed !== hosts) throw new Error(`port-linker ls listed ${listed}/${hosts} hosts connected`);
      ls.push(r.ms);
    }
  }
  return { ls: median(ls), node: median(bare) };
}

/** Copies the daemon's log out of the state dir (removed after the run) and logs where, with its last lines. */
function keepLog(home: string, why: string, log: (msg: string) => void): void {
  const src = join(home, 'daemon.log');
  if (!existsSync(src)) {
    log(`daemon: ${why}; no daemon.log in ${home}`);
    return;
  }
  const dest = join(tmpdir(), `pl-bench-daemon-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  copyFileSync(src, dest);
  const tail = readFileSync(src, 'utf8').trimEnd().split('\n').slice(-8);
  log(`daemon: ${why}; its log kept in ${dest}; last lines:\n  ${tail.join('\n  ')}`);
}

/**
 * The daemon with `n` hosts of a fresh fleet (one profile per host, its echo port only):
 * - `port-linker up -f FILE` wall time (it returns when every host is connected), and from its start until every
 *   host's forward is usable (listed on the control socket, then one TCP round trip through each local port);
 * - the daemon's RSS per host: (RSS with n hosts - RSS after `daemon start` with none) / n, both after 3 s;
 * - `port-linker ls` (text) median wall time over 20 runs next to `node -e 0`'s, and their ratio;
 * - after `kill -9` of the daemon: `up -f FILE` wall time, and until every forward is usable again, plus how many
 *   forwards came back on another local port than before (0 expected: the desired state is in SQLite).
 * Stops the daemon, closes the fleet and removes its files however it ends (Ctrl-C included).
 */
export async function daemonFigures(n: number, log: (msg: string) => void): Promise<DaemonFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'pl-daemon-bench-'));
  const home = join(dir, 'home');
  const env = daemonEnv(home);
  const file = join(dir, 'port-linker.yml');
  const pids = new Set<number>();
  let fleet: HostFleet | undefined;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await runNode([CLI, 'daemon', 'stop'], env, 30_000).catch(() => undefined);
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      await fleet?.close();
      rmSync(dir, { recursive: true, force: true });
    })();
    return closing;
  };
  onCleanup(close);
  try {
    const t = performance.now();
    fleet = await HostFleet.start(n);
    log(`daemon: ${n} hosts started in ${Math.round(performance.now() - t)} ms`);
    writeProfiles(fleet, file);
    const client = new ControlClient(join(home, 'daemon.sock'));
    const daemonPid = async () => {
      const { pid } = await client.call<{ pid: number }>('GET', '/v1/status');
      pids.add(pid);
      return pid;
    };

    await cli(['daemon', 'start'], env);
    const pid = await daemonPid();
    await delay(3000);
    const rss0 = rssMb(pid);

    const t0 = performance.now();
    const up = await cli(['up', '-f', file], env);
    const upMs = up.ms;
    const before = await forwardsListed(client, fleet);
    const usableMs = (await allUsable(before)) - t0;
    if ((await daemonPid()) !== pid) throw new Error('up started a second daemon although one was running');
    await delay(3000);
    const rssN = rssMb(pid);

    const ls = await lsLatency(env, 20, n);

    process.kill(pid, 'SIGKILL');
    while (alive(pid)) await delay(5);
    const t1 = performance.now();
    const restoreUpMs = (await cli(['up', '-f', file], env)).ms;
    const after = await forwardsListed(client, fleet);
    const moved = after.filter((p, i) => p !== before[i]).length;
    const restoreMs = (await allUsable(after)) - t1;
    if ((await daemonPid()) === pid) throw new Error('the daemon pid did not change after kill -9');
    if (moved > 0) {
      const which = after.flatMap((p, i) => (p === before[i] ? [] : [`box${i} ${before[i]} -> ${p}`]));
      log(`daemon: after kill -9, ${moved}/${n} forwards on another local port: ${which.slice(0, 10).join(', ')}`);
    }

    const f: DaemonFigures = {
      upMs,
      usableMs,
      rssPerHostMb: (rssN - rss0) / n,
      rssMb: rssN,
      lsMs: ls.ls,
      nodeMs: ls.node,
      lsRatio: ls.ls / ls.node,
      restoreUpMs,
      restoreMs,
      moved,
    };
    log(
      `daemon: up ${Math.round(upMs)} ms, usable ${Math.round(usableMs)} ms, RSS ${rss0.toFixed(1)} -> ${rssN.toFixed(1)} MB, ls ${ls.ls.toFixed(0)} ms vs node -e 0 ${ls.node.toFixed(0)} ms, restore up ${Math.round(restoreUpMs)} ms, usable ${Math.round(restoreMs)} ms, moved ${moved}`,
    );
    const over = [
      upMs >= DAEMON_GOALS.upMs ? `up ${Math.round(upMs)} ms` : '',
      restoreMs >= DAEMON_GOALS.restoreMs ? `restore ${Math.round(restoreMs)} ms` : '',
      moved > 0 ? `${moved} forwards moved` : '',
    ].filter(Boolean);
    if (over.length > 0) keepLog(home, `over goal: ${over.join(', ')}`, log);
    return f;
  } catch (err) {
    keepLog(home, `failed: ${(err as Error).message.split('\n')[0]}`, log);
    throw err;
  } finally {
    await close();
  }
}
