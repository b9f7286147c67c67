import type { Side } from './bench-types.ts';
import type { Listeners } from './listeners.ts';
import { rssMb } from './measure-process.ts';
import { concurrentConnections, waitUsable } from './net-probe.ts';
import { freePortRange } from './services.ts';
import { type SshTarget, startTunnel } from './tunnel.ts';

/**
 * Host-side RSS with `count` forwards: port-linker mirroring `count` remote listeners (auto mode), or one
 * `ssh -N` with `count` -L options; in MB, read after every forward answered once.
 */
export async function rssWithForwards(
  side: Side,
  target: SshTarget,
  listeners: Listeners,
  count: number,
): Promise<number> {
  const base = await freePortRange(count, 20000, 29000);
  await listeners.listen(base, count);
  const ports = Array.from({ length: count }, (_, i) => base + i);
  const t = startTunnel(side, target, side === 'openssh' ? { forwards: ports } : { auto: true });
  try {
    for (const p of ports) await waitUsable(p, 20_000, t.dead);
    await new Promise((r) => setTimeout(r, 1000));
    if (!t.child.pid) throw new Error('no pid');
    return rssMb(t.child.pid);
  } finally {
    await t.stop();
    await listeners.close(base, count);
  }
}

/** `count` concurrent connections through a forward of the echo port: failures and wall time (ms). */
export async function concurrentFigures(port: number, count: number): Promise<{ failed: number; ms: number }> {
  const t0 = performance.now();
  const failed = await concurrentConnections(port, count);
  return { failed, ms: performance.now() - t0 };
}
