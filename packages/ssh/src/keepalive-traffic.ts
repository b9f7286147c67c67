// Vendor patch S8 (ssh2@1.17.0 client internal `_resetKA`): see docs/vendor-patches.md.
import type { Duplex } from 'node:stream';
import type { Client } from 'ssh2';

/** How often, at most, incoming bytes restart the keepalive count (a timer reset per chunk would cost CPU in bulk). */
const RESET_EVERY_MS = 1000;

/**
 * Makes any bytes from the server count as a sign of life, as OpenSSH does (packet.c resets keep_alive_timeouts on
 * every packet read): ssh2 counts only replies to its own keepalives, and those queue behind everything already
 * written. With 1,000 uploads in flight over a 50 ms lossy link that queue took longer than ServerAliveInterval x
 * ServerAliveCountMax to drain, so a link carrying data both ways was declared dead. Returns false (nothing done)
 * when the client has no `_resetKA` (another ssh2).
 */
export function keepaliveOnTraffic(client: Client, sock: Duplex, now = () => performance.now()): boolean {
  const reset = (client as unknown as { _resetKA?: unknown })._resetKA;
  if (typeof reset !== 'function') return false;
  let last = now();
  sock.on('data', () => {
    const t = now();
    if (t - last < RESET_EVERY_MS) return;
    last = t;
    (reset as () => void).call(client);
  });
  return true;
}
