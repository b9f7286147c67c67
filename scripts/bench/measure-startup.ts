import { rmSync } from 'node:fs';
import type { Side } from './bench-types.ts';
import { waitUsable } from './net-probe.ts';
import { type SshTarget, startTunnel } from './tunnel.ts';

/** Process start to the first forward usable (one round trip through it), in ms. */
export async function startToUsable(
  side: Side,
  target: SshTarget,
  port: number,
  mode: 'forward' | 'auto',
): Promise<number> {
  const t = startTunnel(side, target, mode === 'forward' ? { forwards: [port] } : { auto: true });
  try {
    const at = await waitUsable(port, 15_000, t.dead);
    return at - t.startedAt;
  } finally {
    await t.stop();
  }
}

/** port-linker auto mode start to first usable forward: first deploy (agent cache wiped), then cached. */
export async function autoStartFigures(
  target: SshTarget,
  port: number,
  agentCacheDir: string,
): Promise<{ first: number; cached: number }> {
  rmSync(agentCacheDir, { recursive: true, force: true });
  const first = await startToUsable('port-linker', target, port, 'auto');
  const cached = await startToUsable('port-linker', target, port, 'auto');
  return { first, cached };
}
