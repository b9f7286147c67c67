// Vendor patch S7 (ssh2@1.17.0 writes one sock.write per packet): see docs/vendor-patches.md.
import type { Writable } from 'node:stream';

/** Writes at least this big (bulk data packets) start a coalescing tick; smaller ones go out at once. */
const BULK_WRITE = 8 * 1024;

/**
 * Makes the writes of a tick that carries bulk data leave as a single writev: a write of 8 KiB or more
 * corks the stream and a nextTick uncorks it, so what follows in the same tick joins it. ssh2 writes each
 * SSH packet separately (a 64 KiB local read becomes two 32 KiB packets, plus window adjusts): this cuts
 * a bulk upload's write syscalls from ~31k to ~6.5k per GB and its CPU by ~10 %. It adds no latency (the
 * uncork runs before the event loop polls again), and small interactive packets skip it entirely.
 */
export function coalesceWrites<T extends Writable>(stream: T): T {
  const write = stream.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork();
  };
  stream.write = function coalescedWrite(this: T, ...args: Parameters<Writable['write']>) {
    const chunk = args[0] as { length?: number };
    if (!corked && (chunk.length ?? 0) >= BULK_WRITE) {
      corked = true;
      stream.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args);
  } as Writable['write'];
  return stream;
}
