import { setTimeout as delay } from 'node:timers/promises';
import type { ControlClient, HostView } from '@port-linker/client';

/** How one host's wait ended. */
export interface WaitOutcome {
  id: string;
  ok: boolean;
  /** Why not (`failed`: for good, e.g. authentication; else the daemon keeps retrying). */
  error?: string;
  failed?: boolean;
}

/**
 * Waits until every host in `ids` is connected, or has failed its first attempt, printing one progress line per
 * host as its state changes. Polls `GET /v1/hosts` (cheap: a local socket).
 */
export async function waitConnected(
  client: ControlClient,
  ids: string[],
  progress: (line: string) => void,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<WaitOutcome[]> {
  const done = new Map<string, WaitOutcome>();
  const shown = new Map<string, string>();
  const deadline = Date.now() + timeoutMs;
  while (done.size < ids.length && !signal.aborted) {
    const { hosts } = await client.call<{ hosts: HostView[] }>('GET', '/v1/hosts');
    for (const id of ids) {
      if (done.has(id)) continue;
      const h = hosts.find((x) => x.id === id);
      if (!h) {
        done.set(id, { id, ok: false, error: 'it was removed while starting', failed: true });
        continue;
      }
      const where = `${h.target}`;
      if (h.state === 'connected') {
        done.set(id, { id, ok: true });
        progress(`${id}: connected to ${where}`);
      } else if (h.state === 'failed' || h.state === 'stopped') {
        done.set(id, { id, ok: false, error: h.error ?? h.state, failed: true });
        progress(`${id}: failed: ${h.error ?? h.state}`);
      } else if (h.error !== undefined) {
        done.set(id, { id, ok: false, error: h.error });
        progress(`${id}: cannot connect: ${h.error} (the daemon keeps retrying; \`port-linker down ${id}\` stops it)`);
      } else if (shown.get(id) !== h.state) {
        shown.set(id, h.state);
        progress(`${id}: ${h.state} to ${where}...`);
      }
    }
    if (done.size === ids.length) break;
    if (Date.now() > deadline) {
      for (const id of ids) {
        if (!done.has(id)) {
          done.set(id, { id, ok: false, error: `not connected after ${Math.round(timeoutMs / 1000)} s` });
          progress(`${id}: not connected after ${Math.round(timeoutMs / 1000)} s (the daemon keeps trying)`);
        }
      }
      break;
    }
    await delay(100);
  }
  return ids.map((id) => done.get(id) ?? { id, ok: false, error: 'interrupted' });
}
