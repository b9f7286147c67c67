import type { Writable } from 'node:stream';

/**
 * Makes every write issued in one tick leave as a single writev: the first write of a tick corks the
 * stream and a nextTick uncorks it. ssh2 writes each SSH packet separately (a 64 KiB local read becomes
 * two 32 KiB packets, plus window adjusts), so this halves the write syscalls on bulk transfers and adds
 * no latency (the uncork runs before the event loop polls again).
 */
export function coalesceWrites<T extends Writable>(stream: T): T {
  const write = stream.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork();
  };
  stream.write = function coalescedWrite(this: T, ...args: Parameters<Writable['write']>) {
    if (!corked) {
      corked = true;
      stream.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args);
  } as Writable['write'];
  return stream;
}
