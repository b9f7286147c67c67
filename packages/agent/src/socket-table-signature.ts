import { openSync, readSync } from 'node:fs';

/**
 * A cheap "did any socket table change" probe for Linux: the per-network-namespace counters of
 * /proc/net/sockstat and sockstat6 (`inuse` of TCP, UDP, TCP6, UDP6 and TCP `tw`), plus the last PID
 * handed out (/proc/loadavg, per PID namespace). The `alloc`, `orphan` and `mem` fields are
 * machine-wide (every container's sockets move them), so they are dropped.
 *
 * Why: a full procfs scan reads /proc/net/tcp*, which the kernel answers by walking its whole socket
 * hash (measured 7-10 ms of system CPU per scan on a 2-core VM with 17 sockets); at one scan per
 * 150 ms that alone is ~6 % CPU. These files cost tens of microseconds. A listen() hashes the socket
 * (`TCP: inuse` +1; a UDP bind does the same for `UDP: inuse`), so a new listener moves the signature.
 * A listener closing while another opens in the same tick cancels out in `inuse`; when that is a
 * restart (a new process), the last PID moves. What is left (one process swapping listeners within
 * one tick) is caught by the watch loop's forced full rescan every few seconds.
 * Example: `TCP: inuse 5 orphan 0 tw 26 alloc 45 mem 3` -> `TCP: inuse 5 tw 26`.
 * On a machine that spawns processes all the time (a busy dev box, CI) the last PID moves every tick,
 * so its part of the signature is held for `pidHoldMs` (1 s): at most one PID-driven rescan a second
 * instead of one per tick, and a same-tick listener swap is still seen within a second.
 */
export function socketTableSignature(
  procRoot = '/proc',
  options: { pidHoldMs?: number; now?: () => number } = {},
): (() => string | undefined) | undefined {
  const pidHoldMs = options.pidHoldMs ?? 1000;
  const now = options.now ?? Date.now;
  let shownPid = '';
  let shownAt = Number.NEGATIVE_INFINITY;
  let latestPid = '';
  // kept open and re-read with pread at offset 0 (seq_file regenerates): a third of the CPU of
  // readFileSync, which matters at 7 reads a second on an idle host
  const fds: number[] = [];
  for (const name of ['net/sockstat', 'net/sockstat6', 'loadavg']) {
    try {
      fds.push(openSync(`${procRoot}/${name}`, 'r'));
    } catch {
      if (fds.length === 0) return undefined; // no sockstat: no signal (sockstat6 is absent without IPv6)
    }
  }
  const buf = Buffer.alloc(4096);
  let lastRaw = '';
  let lastSig: string | undefined;
  return () => {
    let raw = '';
    try {
      for (const fd of fds) raw += buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0));
    } catch {
      return undefined;
    }
    if (raw === lastRaw && latestPid === shownPid) return lastSig; // nothing new, no held PID change pending
    lastRaw = raw;
    let sig = '';
    for (const line of raw.split('\n')) {
      if (/^(TCP|UDP)6?:/.test(line)) sig += `${line.replace(/ (orphan|alloc|mem|memory) \d+/g, '')}\n`;
      else {
        // loadavg: `0.00 0.01 0.05 1/123 4567`, the last field is the last PID
        const pid = /^[\d.]+ [\d.]+ [\d.]+ \d+\/\d+ (\d+)$/.exec(line.trim())?.[1];
        if (pid) {
          latestPid = pid;
          const t = now();
          if (pid !== shownPid && t - shownAt >= pidHoldMs) {
            shownPid = pid;
            shownAt = t;
          }
          sig += `pid ${shownPid}\n`;
        }
      }
    }
    lastSig = sig;
    return sig;
  };
}
