// Profiling aid (not part of `npm run bench`): records port-linker's CPU with Linux perf (real on-CPU samples,
// kernel included, unlike the inspector's wall-clock sampling, which counts time a preempted write spends
// waiting as CPU) while one workload runs through it, and prints the hottest symbols.
//   node --import tsx scripts/bench/perf-tunnel.ts upload|download|sequential|round-trip OUTDIR
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { RemoteHost } from '../../test/harness/index.ts';
import { cleanupAll, installSignalCleanup, onCleanup } from './cleanup.ts';
import { roundTripFigures, sequentialFigures } from './measure-latency.ts';
import { iperfGbps } from './measure-throughput.ts';
import { waitUsable } from './net-probe.ts';
import { startServices } from './services.ts';
import { startTunnel, targetOf } from './tunnel.ts';

const [workload = 'sequential', outArg] = process.argv.slice(2);
if (!outArg) throw new Error('usage: perf-tunnel.ts upload|download|sequential|round-trip OUTDIR');
const outDir: string = outArg;
/** WARM=N: N sequential connections before recording; ALL_THREADS=1: report every thread, not just the main one. */
const { WARM: warm, ALL_THREADS: allThreads } = process.env;

async function main(): Promise<void> {
  installSignalCleanup();
  const host = await RemoteHost.start();
  onCleanup(() => host.close());
  const services = await startServices(host);
  const t = startTunnel('port-linker', targetOf(host), {
    forwards: [services.echo, services.iperf],
    env: { NODE_OPTIONS: '--perf-basic-prof-only-functions --interpreted-frames-native-stack' },
  });
  try {
    await waitUsable(services.echo, 20_000, t.dead);
    if (warm) {
      const t0 = performance.now();
      await sequentialFigures(services.echo, Number(warm));
      process.stdout.write(`warm-up: ${warm} connections in ${(performance.now() - t0).toFixed(0)} ms\n`);
    }
    const data = join(outDir, 'perf.data');
    const perf = spawn('perf', ['record', '-F', '4999', '-g', '-o', data, '-p', String(t.child.pid)], {
      stdio: 'ignore',
    });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    if (workload === 'sequential') await sequentialFigures(services.echo, 1000);
    else if (workload === 'round-trip') await roundTripFigures(services.echo, 5000);
    else await iperfGbps(services.iperf, workload === 'download' ? 'download' : 'upload', 3, 0);
    process.stdout.write(`${workload}: ${(performance.now() - t0).toFixed(0)} ms\n`);
    perf.kill('SIGINT');
    await new Promise((r) => perf.once('exit', r));
    const tid = allThreads ? [] : ['--tid', String(t.child.pid)];
    const report = spawnSync(
      'perf',
      ['report', '-i', data, ...tid, '--no-children', '--sort', 'sym', '--stdio', '-g', 'none'],
      {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      },
    );
    process.stdout.write(
      report.stdout
        .split('\n')
        .filter((l) => /^\s+\d/.test(l))
        .slice(0, 60)
        .join('\n'),
    );
    process.stdout.write('\n');
  } finally {
    await t.stop();
  }
}

main()
  .catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
