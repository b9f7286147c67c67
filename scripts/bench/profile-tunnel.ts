// Profiling aid (not part of `npm run bench`): runs one bench workload through a port-linker tunnel
// started with --cpu-prof, so the hot path can be read in Chrome DevTools or with `node --prof-process`.
//   node --import tsx scripts/bench/profile-tunnel.ts upload|download|sequential|round-trip OUTDIR
import { RemoteHost } from '../../test/harness/index.ts';
import { cleanupAll, installSignalCleanup, onCleanup } from './cleanup.ts';
import { roundTripFigures, sequentialFigures } from './measure-latency.ts';
import { iperfGbps } from './measure-throughput.ts';
import { waitUsable } from './net-probe.ts';
import { startServices } from './services.ts';
import { startTunnel, targetOf } from './tunnel.ts';

const [workload = 'upload', outDir = '.'] = process.argv.slice(2);

async function main(): Promise<void> {
  installSignalCleanup();
  const host = await RemoteHost.start();
  onCleanup(() => host.close());
  const services = await startServices(host);
  for (const side of ['openssh', 'port-linker'] as const) {
    const t = startTunnel(side, targetOf(host), {
      forwards: [services.echo, services.iperf],
      env: side === 'port-linker' ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${outDir}` } : {},
    });
    try {
      await waitUsable(services.echo, 20_000, t.dead);
      const result =
        workload === 'sequential'
          ? await sequentialFigures(services.echo, 1000)
          : workload === 'round-trip'
            ? await roundTripFigures(services.echo, 5000)
            : await iperfGbps(services.iperf, workload === 'download' ? 'download' : 'upload', 5, 0);
      process.stdout.write(`${side} ${workload}: ${JSON.stringify(result)}\n`);
    } finally {
      await t.stop();
    }
  }
}

main()
  .catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
