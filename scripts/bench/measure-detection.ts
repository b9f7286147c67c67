import type { Listeners } from './listeners.ts';
import { waitUsable } from './net-probe.ts';
import { freePortRange } from './services.ts';
import { percentile } from './stats.ts';
import type { Tunnel } from './tunnel.ts';

/**
 * Remote listen() to usable local port: opens `count` listeners one after another in the namespace while
 * port-linker (auto mode) runs, and times each from "listening" to a round trip through the local port (ms).
 */
export async function detectionFigures(
  tunnel: Tunnel,
  listeners: Listeners,
  count: number,
): Promise<{ p50: number; p99: number }> {
  const base = await freePortRange(count);
  const ms: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const t0 = await listeners.listen(base + i);
      const at = await waitUsable(base + i, 10_000, tunnel.dead);
      ms.push(at - t0);
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100)); // not in phase with the scan interval
    }
  } finally {
    await listeners.close(base, count);
  }
  return { p50: percentile(ms, 50), p99: percentile(ms, 99) };
}

/** Opens `count` listeners at once; ms until port-linker reported every one as forwarded (and one works). */
export async function manyPortsFigure(tunnel: Tunnel, listeners: Listeners, count: number): Promise<number> {
  const cli = tunnel.cli;
  if (!cli) throw new Error('manyPortsFigure needs port-linker');
  const base = await freePortRange(count, 20000, 29000);
  try {
    const t0 = await listeners.listen(base, count);
    const want = new Set(Array.from({ length: count }, (_, i) => base + i));
    await cli.waitEvent(
      () => {
        for (const e of cli.events)
          if (e.event === 'forward_added' && typeof e.remote_port === 'number') want.delete(e.remote_port);
        return want.size === 0;
      },
      `forward_added for ${count} ports (${want.size} missing)`,
      30_000,
    );
    const at = performance.now();
    await waitUsable(base + count - 1, 5000, tunnel.dead);
    return at - t0;
  } finally {
    await listeners.close(base, count);
  }
}
