// Profiling aid (not part of `npm run bench`): runs one workload through OpenSSH and port-linker tunnels,
// alternating, and prints each side's CPU cost per unit of work (CPU time is far less noisy than
// throughput on a shared machine). With OUTDIR, port-linker is CPU-profiled (cpu-profile-hook.cjs);
// read the .cpuprofile with profile-summary.ts or Chrome DevTools.
//   node --import tsx scripts/bench/profile-tunnel.ts upload|download|sequential|round-trip [ROUNDS] [OUTDIR]
// Environment: SIDES=openssh,port-linker,bare (bare = bare-forwarder.mjs, plain ssh2: the floor for our code);
// alt = port-linker from the bundle ALT_MAIN (A/B against another build: copy packages/cli/dist/main.js
// aside, e.g. into packages/cli/dist/, before rebuilding; or a wrapper .mjs that calls v8.setFlagsFromString and imports
// dist/main.js, for V8 flags NODE_OPTIONS refuses); PL_NODE_OPTIONS=... is given to port-linker as NODE_OPTIONS (experiments); WARM=N runs N sequential connections through each tunnel before measuring (JIT-warm figures).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RemoteHost } from '../../test/harness/index.ts';
import { cleanupAll, installSignalCleanup, onCleanup, stopChild, track } from './cleanup.ts';
import { roundTripFigures, sequentialFigures } from './measure-latency.ts';
import { iperfGbps } from './measure-throughput.ts';
import { waitUsable } from './net-probe.ts';
import { startServices } from './services.ts';
import { portLinkerArgs, type SshTarget, startTunnel, targetOf } from './tunnel.ts';

const [workload = 'upload', roundsArg = '3', outDir] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
const SECONDS = 3;

/** Read and write syscall counts of a process so far (/proc/PID/io). */
function syscalls(pid: number): { r: number; w: number } {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return { r: Number(/syscr: (\d+)/.exec(io)?.[1]), w: Number(/syscw: (\d+)/.exec(io)?.[1]) };
}

/** User and system CPU seconds of a process so far. */
function cpuSplit(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) / 100, sys: Number(f[12]) / 100 };
}

/**
 * CPU seconds per thread name (main thread, libuv pool, V8 workers...) of a process so far, from schedstat
 * (nanoseconds on CPU: finer than the 10 ms ticks of /proc stat, which blur per-connection figures).
 */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '');
      const name = tid === String(pid) ? 'main' : comm;
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      out.set(name, (out.get(name) ?? 0) + ns / 1e9);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** Runs the workload; returns its headline figure and how many units of work it did. */
async function work(echo: number, iperf: number): Promise<{ figure: string; units: number; unit: string }> {
  if (workload === 'sequential') {
    const r = await sequentialFigures(echo, 500);
    return { figure: `${r.totalMs.toFixed(0)} ms`, units: 500, unit: 'connection' };
  }
  if (workload === 'round-trip') {
    const r = await roundTripFigures(echo, 3000);
    return { figure: `p50 ${r.p50.toFixed(0)} us p99 ${r.p99.toFixed(0)} us`, units: 3000, unit: 'round trip' };
  }
  const gbps = await iperfGbps(iperf, workload === 'download' ? 'download' : 'upload', SECONDS, 0);
  return { figure: `${gbps.toFixed(2)} Gbit/s`, units: (gbps * SECONDS) / 8, unit: 'GB' };
}

type ProfiledSide = 'openssh' | 'port-linker' | 'bare' | 'alt';
const { SIDES: sidesEnv, WARM: warm, PL_NODE_OPTIONS: plNodeOptions, ALT_MAIN: altMain } = process.env;
const sides = (sidesEnv ?? 'openssh,port-linker').split(',') as ProfiledSide[];

/** The bare ssh2 forwarder as a tunnel-like process. */
function startBare(t: SshTarget, ports: number[]) {
  const child = spawn(
    process.execPath,
    [join(here, 'bare-forwarder.mjs'), t.address, t.user, t.keyPath, ...ports.map(String)],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  track(child);
  return {
    child,
    dead: () => (child.exitCode !== null ? `bare forwarder exited ${child.exitCode}` : undefined),
    stop: () => stopChild(child),
  };
}

/** port-linker from another bundle (ALT_MAIN), same arguments. */
function startAlt(t: SshTarget, forwards: number[]) {
  if (!altMain) throw new Error('SIDES has alt: set ALT_MAIN to a port-linker bundle (a copy of dist/main.js)');
  const child = spawn(process.execPath, [altMain, ...portLinkerArgs(t, { forwards })], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, PORT_LINKER_LOG: 'warn', NODE_OPTIONS: plNodeOptions ?? '' },
  });
  track(child);
  return {
    child,
    dead: () => (child.exitCode !== null ? `alt port-linker exited ${child.exitCode}` : undefined),
    stop: () => stopChild(child, 'SIGINT'),
  };
}

/** Main-thread CPU us per unit of work, per side and run (printed as medians at the end). */
const mainCpu = new Map<string, number[]>();

function printMedians(unit: string): void {
  for (const [side, xs] of mainCpu) {
    const s = [...xs].sort((a, b) => a - b);
    const med = s.length % 2 ? s[(s.length - 1) / 2] : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
    process.stdout.write(
      `${side.padEnd(11)} main thread: median ${med?.toFixed(1)} (${s[0]?.toFixed(1)}-${s[s.length - 1]?.toFixed(1)}) us CPU per ${unit}, ${s.length} runs\n`,
    );
  }
}

async function main(): Promise<void> {
  installSignalCleanup();
  const host = await RemoteHost.start();
  onCleanup(() => host.close());
  const services = await startServices(host);
  let unit = '';
  for (let round = 0; round < Number(roundsArg); round++) {
    const order = sides.map((_, i) => sides[(i + round) % sides.length] as ProfiledSide);
    for (const side of order) {
      const profile = side === 'port-linker' && outDir;
      const forwards = [services.echo, services.iperf];
      const t =
        side === 'bare'
          ? startBare(targetOf(host), forwards)
          : side === 'alt'
            ? startAlt(targetOf(host), forwards)
            : startTunnel(side, targetOf(host), {
                forwards,
                env: {
                  NODE_OPTIONS: [
                    plNodeOptions ?? '',
                    profile ? `--require ${join(here, 'cpu-profile-hook.cjs')}` : '',
                  ].join(' '),
                  ...(profile ? { CPU_PROFILE_DIR: outDir } : {}),
                },
              });
      try {
        await waitUsable(services.echo, 20_000, t.dead);
        if (warm) await sequentialFigures(services.echo, Number(warm));
        const pid = t.child.pid ?? 0;
        const io0 = syscalls(pid);
        const cpu0 = cpuSplit(pid);
        const threads0 = threadCpu(pid);
        const r = await work(services.echo, services.iperf);
        const cpu1 = cpuSplit(pid);
        const user = cpu1.user - cpu0.user;
        const sys = cpu1.sys - cpu0.sys;
        const io1 = syscalls(pid);
        const threads1 = threadCpu(pid);
        const threads = [...threads1]
          .map(([name, s]) => [name, s - (threads0.get(name) ?? 0)] as const)
          .filter(([, s]) => s > 0)
          .sort((a, b) => b[1] - a[1])
          .map(([name, s]) => `${name} ${((s * 1e6) / r.units).toFixed(workload.endsWith('load') ? 0 : 1)}`)
          .join(', ');
        const main = (((threads1.get('main') ?? 0) - (threads0.get('main') ?? 0)) * 1e6) / r.units;
        mainCpu.set(side, [...(mainCpu.get(side) ?? []), main]);
        const per = (x: number) => (x / r.units).toFixed(workload.endsWith('load') ? 0 : 1);
        unit = r.unit;
        process.stdout.write(
          `${side.padEnd(11)} ${workload}: ${r.figure}; CPU user ${per(user * 1e6)} + sys ${per(sys * 1e6)} us, reads ${per(io1.r - io0.r)}, writes ${per(io1.w - io0.w)} per ${r.unit}; by thread: ${threads}\n`,
        );
      } finally {
        await t.stop();
      }
    }
  }
  printMedians(unit);
}

main()
  .catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
