// Vendor patches S3, S4 (ssh2@1.17.0 channel window constant and internals): see docs/vendor-patches.md.
import type { ClientChannel } from 'ssh2';

/** ssh2's own receive window per channel (lib/Channel.js MAX_WINDOW, hard-coded). */
export const SSH2_WINDOW = 2 * 1024 * 1024;
/** The largest receive window a forwarded channel gets (bounds the memory one slow reader can pin). */
export const MAX_FORWARD_WINDOW = 8 * 1024 * 1024;

/**
 * The receive window for a forwarded channel whose open took `openMs` (one round trip to the server and
 * its connect to the target): enough for about 4 Gbit/s at that round trip (512 KiB per ms), never less
 * than ssh2's 2 MiB nor more than 8 MiB. On loopback and LANs this stays at 2 MiB: a bigger window there
 * only lets more data pile up in buffers (measured: loopback download fell from 0.94x to 0.5x OpenSSH
 * with a fixed 8 MiB), while on a 50 ms link 2 MiB caps a download near 0.16 Gbit/s and 8 MiB gave 1.44x.
 */
export function windowForRoundTrip(openMs: number): number {
  return Math.min(MAX_FORWARD_WINDOW, Math.max(SSH2_WINDOW, Math.round(openMs * 512 * 1024)));
}

/** The ssh2 internals a window top-up needs (stable across ssh2 1.x; checked at run time). */
interface ChannelInternals {
  incoming: { window: number };
  outgoing: { id: number; state: string };
  _client?: { _protocol?: { channelWindowAdjust(id: number, amount: number): void } };
  _read(n: number): void;
  push(chunk: unknown, encoding?: BufferEncoding): boolean;
}

/**
 * Widens a channel's receive window to `window` bytes without patching ssh2: grants the difference right
 * after open, then tops the window back up whenever data was accepted (push) or the reader asks for more
 * (_read) and 1 MiB (at most half the window) was consumed. ssh2's own 2 MiB refill still runs but never finds the window that low
 * while data flows. Backpressure is kept: no grant while the readable side is full, so a paused reader holds at most
 * `window` plus ssh2's 2 MiB readable buffer. Returns false (and
 * changes nothing) for a window ssh2 already gives, or when ssh2's internals are not what this expects.
 */
export function widenReceiveWindow(channel: ClientChannel, window: number): boolean {
  const ch = channel as unknown as ChannelInternals;
  if (window <= SSH2_WINDOW) return false;
  const protocol = ch._client?._protocol;
  if (
    !protocol ||
    typeof protocol.channelWindowAdjust !== 'function' ||
    typeof ch.incoming?.window !== 'number' ||
    typeof ch.outgoing?.id !== 'number' ||
    typeof ch._read !== 'function'
  )
    return false;
  // top up after each MiB consumed (at most half the window): the peer never sees much less than `window`
  const refillBelow = window - Math.min(window / 2, 1024 * 1024);
  const topUp = () => {
    if (ch.outgoing.state !== 'open') return;
    const amount = window - ch.incoming.window;
    if (amount <= 0) return;
    ch.incoming.window += amount;
    protocol.channelWindowAdjust(ch.outgoing.id, amount);
  };
  const push = ch.push;
  ch.push = function widenedPush(chunk, encoding) {
    const ok = push.call(this, chunk, encoding);
    if (ok && chunk !== null && ch.incoming.window <= refillBelow) topUp();
    return ok;
  };
  const read = ch._read;
  ch._read = function widenedRead(n) {
    read.call(this, n);
    if (ch.incoming.window <= refillBelow) topUp();
  };
  topUp();
  return true;
}
