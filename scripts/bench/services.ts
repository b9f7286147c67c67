import { createServer } from 'node:net';
import type { RemoteHost, Service } from '../../test/harness/index.ts';
import { track } from './cleanup.ts';

/** Remote services the tunnel rows talk to; each remote port is forwarded to the same local port. */
export interface BenchServices {
  echo: number;
  iperf: number;
  stop(): Promise<void>;
}

/** True when nothing listens on 127.0.0.1:port (and ::1) locally. */
export async function localPortFree(port: number): Promise<boolean> {
  const tryListen = (host: string) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'EADDRNOTAVAIL'));
      s.listen({ port, host, exclusive: true }, () => s.close(() => resolve(true)));
    });
  return (await tryListen('127.0.0.1')) && (await tryListen('::1'));
}

/**
 * `count` consecutive ports from a random base in [lo, hi) that are all free locally. The default range stays
 * below Linux's ephemeral ports (32768+), where the namespace's own outgoing connections could hold a port.
 */
export async function freePortRange(count: number, lo = 10000, hi = 32000): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = lo + Math.floor(Math.random() * (hi - lo - count));
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await localPortFree(p);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free local ports in ${lo}-${hi}`);
}

/** Starts a TCP echo and an iperf3 server on 127.0.0.1 inside the namespace, on ports free locally too. */
export async function startServices(host: RemoteHost): Promise<BenchServices> {
  const base = await freePortRange(2);
  const echo: Service = await host.serve('tcp-echo', base, '127.0.0.1');
  track(echo.child);
  const iperf = host.spawn(['iperf3', '-s', '-B', '127.0.0.1', '-p', String(base + 1)], 'ignore');
  track(iperf);
  for (let i = 0; i < 200; i++) {
    const out = await host.exec(['ss', '-Hltn', `sport = :${base + 1}`]);
    if (out.stdout.trim()) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    echo: echo.port,
    iperf: base + 1,
    stop: async () => {
      await echo.stop();
      if (iperf.pid && iperf.exitCode === null) iperf.kill('SIGKILL');
    },
  };
}
