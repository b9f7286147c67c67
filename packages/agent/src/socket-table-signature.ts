import { openSync, readSync } from 'node:fs';

/**
 * A cheap "did any socket table change" probe for Linux: the per-network-namespace counters of
 * /proc/net/sockstat and sockstat6 (`inuse` of TCP, UDP, TCP6, UDP6). The `alloc`, `orphan` and `mem` fields
 * are machine-wide (every container's sockets move them), and `tw` (TIME_WAIT) only counts closed connections,
 * which expire one by one for a minute after a burst of traffic (a rescan each tick for nothing): all dropped.
 *
 * Why: a full procfs scan reads /proc/net/tcp*, which the kernel answers by walking its whole socket
 * hash (measured 7-10 ms of system CPU per scan on a 2-core VM with 17 sockets); at one scan per
 * 150 ms that alone is ~6 % CPU. These files cost tens of microseconds. A listen() hashes the socket
 * (`TCP: inuse` +1; a UDP bind does the same for `UDP: inuse`), so a new listener moves the signature.
 * Example: `TCP: inuse 5 orphan 0 tw 26 alloc 45 mem 3` -> `TCP: inuse 5`.
 *
 * Blind spot, by choice: a listener closing while another opens within the same tick cancels out in
 * `inuse`; the watch loop's forced full rescan (every 15 s) catches it. An earlier version also
 * watched the last PID handed out (a restart is a new process), but on a machine that starts processes
 * all the time (a dev box, CI) that made the agent rescan about once a second for nothing: 0.75 % CPU
 * idle instead of the 0.5 % budget, to shorten a rare case from 5 s to 1 s.
 */
export function socketTableSignature(procRoot = '/proc'): (() => string | undefined) | undefined {
  // kept open and re-read with pread at offset 0 (seq_file regenerates): a third of the CPU of
  // readFileSync, which matters at 7 reads a second on an idle host
  const fds: number[] = [];
  for (const name of ['net/sockstat', 'net/sockstat6']) {
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
    if (raw === lastRaw) return lastSig;
    lastRaw = raw;
    let sig = '';
    for (const line of raw.split('\n')) {
      if (/^(TCP|UDP)6?:/.test(line)) sig += `${line.replace(/ (orphan|tw|alloc|mem|memory) \d+/g, '')}\n`;
    }
    lastSig = sig;
    return sig;
  };
}
