// Profiling aid (not part of `npm run bench`): runs one workload through OpenSSH and port-linker tunnels,
// alternating, and prints each side's CPU cost per unit of work (CPU time is far less noisy than
// throughput on a shared machine). With OUTDIR, port-linker is CPU-profiled (cpu-profile-hook.cjs);
// read the .cpuprofile with profile-summary.ts or Chrome DevTools.
//   node --import tsx scripts/bench/profile-tunnel.ts upload|download|sequential|round-trip [ROUNDS] [OUTDIR]
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RemoteHost } from '../../test/harness/index.ts';
import { cleanupAll, installSignalCleanup, onCleanup } from './cleanup.ts';
import { roundTripFigures, sequentialFigures } from './measure-latency.ts';
import { iperfGbps } from './measure-throughput.ts';
import { waitUsable } from './net-probe.ts';
import { startServices } from './services.ts';
import { startTunnel, targetOf } from './tunnel.ts';

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

/** Runs the workload; returns its headline figure and how many units of work it did. */
async function work(echo: number, iperf: number): Promise<{ figure: string; units: number; unit: string }> {
  if (workload === 'sequential') {
    const r = await sequentialFigures(echo, 500);
    return { figure: `${r.totalMs.toFixed(0)} ms`, units: 500, unit: 'connection' };
  }
  if (workload === 'round-trip') {
    const r = await roundTripFigures(echo, 3000);
    return { figure: `p50 ${r.p50.toFixed(0)} us`, units: 3000, unit: 'round trip' };
  }
  const gbps = await iperfGbps(iperf, workload === 'download' ? 'download' : 'upload', SECONDS, 0);
  return { figure: `${gbps.toFixed(2)} Gbit/s`, units: (gbps * SECONDS) / 8, unit: 'GB' };
}

async function main(): Promise<void> {
  installSignalCleanup();
  const host = await RemoteHost.start();
  onCleanup(() => host.close());
  const services = await startServices(host);
  for (let round = 0; round < Number(roundsArg); round++) {
    for (const side of round % 2 ? (['port-linker', 'openssh'] as const) : (['openssh', 'port-linker'] as const)) {
      const profile = side === 'port-linker' && outDir;
      const t = startTunnel(side, targetOf(host), {
        forwards: [services.echo, services.iperf],
        env: profile
          ? { NODE_OPTIONS: `--require ${join(here, 'cpu-profile-hook.cjs')}`, CPU_PROFILE_DIR: outDir }
          : {},
      });
      try {
        await waitUsable(services.echo, 20_000, t.dead);
        const pid = t.child.pid ?? 0;
        const io0 = syscalls(pid);
        const cpu0 = cpuSplit(pid);
        const r = await work(services.echo, services.iperf);
        const cpu1 = cpuSplit(pid);
        const user = cpu1.user - cpu0.user;
        const sys = cpu1.sys - cpu0.sys;
        const io1 = syscalls(pid);
        const per = (x: number) => (x / r.units).toFixed(workload.endsWith('load') ? 0 : 1);
        process.stdout.write(
          `${side.padEnd(11)} ${workload}: ${r.figure}; CPU user ${per(user * 1e6)} + sys ${per(sys * 1e6)} us, reads ${per(io1.r - io0.r)}, writes ${per(io1.w - io0.w)} per ${r.unit}\n`,
        );
      } finally {
        await t.stop();
      }
    }
  }
}

main()
  .catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
