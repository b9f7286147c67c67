import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { PortLinkerClient } from '@port-linker/client';
import { RemoteHost } from '../../test/harness/index.ts';
import { onCleanup } from './cleanup.ts';
import { type Ran, runTimed } from './measure-daemon.ts';
import { rssMb } from './measure-process.ts';
import { median } from './stats.ts';

const CLI = join(import.meta.dirname, '../../packages/cli/bin/port-linker.js');

/** Goals of the pool rows (issue: exec <= 20% of a fresh ssh and <= 1.2x ControlMaster; 100 hosts < 5 s; < 1 MB). */
export const POOL_GOALS = { vsSsh: 0.2, vsMaster: 1.2, hundredMs: 5000, perConnMb: 1 } as const;

async function ok(program: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 600_000): Promise<Ran> {
  const r = await runTimed(program, args, env, timeoutMs);
  if (r.code !== 0)
    throw new Error(`${program} ${args.slice(0, 6).join(' ')} exited ${r.code}: ${r.stderr.trim().slice(-300)}`);
  return r;
}

/** A throwaway daemon (its own state dir), one fresh sshd in a namespace, and what reaches it. */
class PoolBench {
  readonly dir = mkdtempSync(join(tmpdir(), 'pl-pool-bench-'));
  readonly env: NodeJS.ProcessEnv;
  host!: RemoteHost;
  #closing: Promise<void> | undefined;

  constructor() {
    this.env = { ...process.env, PORT_LINKER_HOME: join(this.dir, 'home') };
    delete this.env.PORT_LINKER_LOG;
    delete this.env.XDG_RUNTIME_DIR;
    onCleanup(() => this.close());
  }

  async start(): Promise<this> {
    this.host = await RemoteHost.start({ quietShell: true });
    return this;
  }

  /** Options of `ssh` (and of port-linker) that reach `address` with the host's key and known_hosts. */
  sshOptions(): string[] {
    return [
      '-i',
      this.host.clientKeyPath,
      '-o',
      `UserKnownHostsFile=${this.host.knownHostsPath}`,
      '-o',
      'StrictHostKeyChecking=yes',
    ];
  }

  cli(args: string[], timeoutMs?: number): Promise<Ran> {
    return ok(process.execPath, [CLI, ...args], this.env, timeoutMs);
  }

  async daemonPid(): Promise<number> {
    return (await new PortLinkerClient({ env: this.env }).status()).pid;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await runTimed(process.execPath, [CLI, 'daemon', 'stop'], this.env, 30_000).catch(() => undefined);
      await this.host?.close();
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.#closing;
  }
}

/**
 * `port-linker exec HOST true` through the daemon's connection, a fresh `ssh HOST true`, and `ssh HOST true` through
 * an OpenSSH ControlMaster (ControlPersist=60, master started before timing), `count` of each in turn (the order
 * rotating every round): the medians, and the two ratios.
 */
export async function execFigures(count: number, log: (m: string) => void): Promise<Record<string, number>> {
  const b = await new PoolBench().start();
  try {
    const target = b.host.target;
    await b.cli(['connect', ...b.sshOptions(), '--no-auto', target]);
    const ssh = [...b.sshOptions(), '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', target];
    const master = [
      '-o',
      'ControlMaster=auto',
      '-o',
      `ControlPath=${join(b.dir, 'cm-%C')}`,
      '-o',
      'ControlPersist=60',
      ...ssh,
    ];
    await ok('ssh', [...master, 'true'], b.env); // the master, before timing
    const kinds = {
      pl: () => b.cli(['exec', target, '--', 'true']),
      ssh: () => ok('ssh', [...ssh, 'true'], b.env),
      master: () => ok('ssh', [...master, 'true'], b.env),
      node: () => ok(process.execPath, ['-e', '0'], b.env),
    };
    const names = Object.keys(kinds) as Array<keyof typeof kinds>;
    const times: Record<string, number[]> = { pl: [], ssh: [], master: [], node: [] };
    for (let i = 0; i < count; i++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(i + k) % names.length] as keyof typeof kinds;
        times[name]?.push((await kinds[name]()).ms);
      }
    }
    await ok('ssh', ['-O', 'exit', '-o', `ControlPath=${join(b.dir, 'cm-%C')}`, target], b.env).catch(() => {});
    const pl = median(times.pl as number[]);
    const plain = median(times.ssh as number[]);
    const cm = median(times.master as number[]);
    const node = median(times.node as number[]);
    log(
      `exec: port-linker ${pl.toFixed(1)} ms, ssh ${plain.toFixed(1)} ms, ControlMaster ${cm.toFixed(1)} ms, node -e 0 ${node.toFixed(1)} ms`,
    );
    return { pl, ssh: plain, master: cm, node, vsSsh: pl / plain, vsMaster: pl / cm };
  } finally {
    await b.close();
  }
}

/** `count` files of 1-4 KiB under `dir` (100 per directory). */
function smallTree(dir: string, count: number): void {
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}`), Buffer.alloc(1024 + (i % 4) * 1024, i % 251));
  }
}

/**
 * Uploads one big file and a tree of small ones with `port-linker cp` (over the daemon's connection), `scp` and
 * `sftp -b` (each a fresh connection, as users run them), in an order that rotates with `run`: seconds each.
 */
export async function copyFigures(
  bigMiB: number,
  smallCount: number,
  run: number,
  log: (m: string) => void,
): Promise<Record<string, number>> {
  const b = await new PoolBench().start();
  try {
    const target = b.host.target;
    await b.cli(['connect', ...b.sshOptions(), '--no-auto', target]);
    const src = join(b.dir, 'src');
    mkdirSync(src);
    const big = join(src, 'big.bin');
    await ok('sh', ['-c', `head -c ${bigMiB * 1024 * 1024} /dev/urandom > '${big}'`], b.env);
    const tree = join(src, 'tree');
    smallTree(tree, smallCount);
    const sshOpts = [...b.sshOptions(), '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'];
    const out: Record<string, number> = {};
    const tools: Record<string, (what: 'big' | 'tree', dest: string) => Promise<Ran>> = {
      pl: (what, dest) =>
        what === 'big'
          ? b.cli(['cp', '-q', big, `${target}:${dest}`])
          : b.cli(['cp', '-q', '-r', tree, `${target}:${dest}`]),
      scp: (what, dest) =>
        what === 'big'
          ? ok('scp', ['-q', '-p', ...sshOpts, big, `${target}:${dest}`], b.env)
          : ok('scp', ['-q', '-p', '-r', ...sshOpts, tree, `${target}:${dest}`], b.env),
      sftp: (what, dest) => {
        const batch = join(b.dir, `batch-${what}`);
        writeFileSync(batch, what === 'big' ? `put -p ${big} ${dest}\n` : `put -p -R ${tree} ${dest}\n`);
        return ok('sftp', ['-q', '-b', batch, ...sshOpts, target], b.env);
      },
    };
    const order = ['pl', 'scp', 'sftp'];
    const rotated = [...order.slice(run % 3), ...order.slice(0, run % 3)];
    for (const what of ['big', 'tree'] as const) {
      for (const tool of rotated) {
        const dest = join(b.dir, `dest-${tool}-${what}`);
        if (what === 'tree') mkdirSync(dest);
        const r = await (tools[tool] as (w: 'big' | 'tree', d: string) => Promise<Ran>)(
          what,
          what === 'big' ? dest : `${dest}/`,
        );
        out[`${tool}-${what}`] = r.ms / 1000;
        // the copies are checked, not trusted
        const size = what === 'big' ? readFileSync(dest).length : Number.NaN;
        if (what === 'big' && size !== bigMiB * 1024 * 1024) throw new Error(`${tool}: ${size} bytes arrived`);
        rmSync(dest, { recursive: true, force: true });
      }
    }
    log(
      `cp: ${bigMiB} MiB ${['pl', 'scp', 'sftp'].map((t) => `${t} ${out[`${t}-big`]?.toFixed(2)} s`).join(', ')}; ` +
        `${smallCount} files ${['pl', 'scp', 'sftp'].map((t) => `${t} ${out[`${t}-tree`]?.toFixed(2)} s`).join(', ')}`,
    );
    return {
      big: out['pl-big'] as number,
      bigScp: out['scp-big'] as number,
      bigSftp: out['sftp-big'] as number,
      tree: out['pl-tree'] as number,
      treeScp: out['scp-tree'] as number,
      treeSftp: out['sftp-tree'] as number,
    };
  } finally {
    await b.close();
  }
}

/** The daemon's RSS (MB) once it has been quiet for `ms`. */
async function settledRss(pid: number, ms = 3000): Promise<number> {
  await delay(ms);
  return rssMb(pid);
}

/**
 * One sshd on `n` addresses (each a host to the daemon, without agent or forwards):
 * - `port-linker connect --no-auto` of all of them at once: wall time until every one is connected;
 * - the daemon's RSS per pooled connection beyond the first: (RSS with n - RSS with 1) / (n - 1), settled 3 s;
 * - 1,000 concurrent `exec echo` channels through the client library across the first 10 hosts: how many failed
 *   (output checked), and how long all took.
 */
export async function hundredHostsFigures(
  n: number,
  execs: number,
  log: (m: string) => void,
): Promise<Record<string, number>> {
  const b = await new PoolBench().start();
  try {
    const addresses = await b.host.addAddresses(n);
    const targets = addresses.map((a) => `root@${a}`);
    // all at once into a fresh daemon: the time
    const t0 = performance.now();
    const all = await b.cli(['connect', ...b.sshOptions(), '--no-auto', ...targets], 120_000);
    const connectMs = performance.now() - t0;
    const ids = all.stdout.trim().split('\n');
    if (ids.length !== n) throw new Error(`connect printed ${ids.length} ids for ${n} hosts`);
    // then the memory: a fresh daemon with the first, then with all (the first pays for loading ssh2 and the engine)
    await b.cli(['down', '--all']);
    await b.cli(['daemon', 'stop']);
    await b.cli(['connect', ...b.sshOptions(), '--no-auto', targets[0] as string]);
    const pid = await b.daemonPid();
    const rss1 = await settledRss(pid);
    await b.cli(['connect', ...b.sshOptions(), '--no-auto', ...targets.slice(1)], 120_000);
    const rssN = await settledRss(pid);
    const pl = new PortLinkerClient({ env: b.env });
    const hosts = await pl.hosts();
    const connected = hosts.filter((h) => h.state === 'connected').length;
    if (connected !== n)
      throw new Error(
        `${connected}/${n} hosts connected (${hosts
          .slice(0, 3)
          .map((h) => `${h.id}=${h.state}`)
          .join(', ')}...)`,
      );
    const t1 = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: execs }, async (_, i) => {
        const res = await pl.run(targets[i % 10] as string, `echo ${i}`);
        if (res.code !== 0 || res.stdout.toString() !== `${i}\n`) throw new Error(`exec ${i}: ${res.code}`);
      }),
    );
    const execMs = performance.now() - t1;
    const failed = results.filter((x) => x.status === 'rejected');
    if (failed.length > 0)
      log(`pool: ${failed.length} exec failed, first: ${(failed[0] as PromiseRejectedResult).reason}`);
    const perConn = (rssN - rss1) / (n - 1);
    log(
      `pool: ${n} hosts connected in ${connectMs.toFixed(0)} ms; RSS with 1 and ${n}: ${rss1.toFixed(1)} -> ${rssN.toFixed(1)} MB; ${execs} execs in ${execMs.toFixed(0)} ms, ${failed.length} failed`,
    );
    return { connect: connectMs, perConn, rss: rssN, execFailed: failed.length, execMs };
  } finally {
    await b.close();
  }
}
