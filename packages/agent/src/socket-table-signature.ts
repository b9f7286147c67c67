import { openSync, readSync } from 'node:fs';

/** Fields of /proc/net/snmp's `Tcp:` line that move when a connection opens, fails, resets or leaves ESTABLISHED. */
const TCP_EVENT_FIELDS = ['ActiveOpens', 'PassiveOpens', 'AttemptFails', 'EstabResets', 'CurrEstab'] as const;

/**
 * A cheap "did any socket table change" probe for Linux, from per-network-namespace kernel counters:
 * - `inuse` of TCP, UDP, TCP6, UDP6 in /proc/net/sockstat and sockstat6: a listen() hashes the socket (`TCP: inuse`
 *   +1; a UDP bind does the same for `UDP: inuse`), so a new listener moves it;
 * - the connection event counters of /proc/net/snmp's `Tcp:` line (TCP_EVENT_FIELDS, shared by IPv4 and IPv6).
 *
 * `inuse` alone is blind when an unrelated socket goes away in the same tick as a listen(): a connection closing
 * (-1 per end) cancels a new listener (+1) exactly, and with nothing else moving the listener waited for the next
 * forced rescan (15 s). That happened on a busy CI machine. A connection cannot close without moving `CurrEstab` (or
 * `EstabResets`, `AttemptFails` for one that never got established), and those are not moved by a listen(), so the
 * pair no longer cancels. The agent's own sockets (UDP relay flows, transport listeners) are not left to the counters:
 * opening or closing one asks the watch loop for a rescan (AgentContext.socketsChanged). What remains blind: another
 * program's listener closing while a new one opens in the same tick, and its UDP socket closing while another binds
 * (UDP has no per-socket event counter); the forced rescan catches both.
 *
 * Dropped on purpose: `alloc`, `orphan` and `mem` (machine-wide: every container's sockets move them), `tw`
 * (TIME_WAIT entries expire one by one for a minute after a burst of traffic: a rescan each tick for nothing), and
 * the snmp segment and datagram counters (they move with every packet). An earlier version also watched the last PID
 * handed out; on a machine that starts processes all the time (a dev box, CI) that made the agent rescan about once
 * a second for nothing.
 *
 * Why at all: a full procfs scan reads /proc/net/tcp*, which the kernel answers by walking its whole socket hash
 * (measured 7-10 ms of system CPU per scan on a 2-core VM with 17 sockets: the hash has 262,144 buckets); at one scan
 * per 150 ms that alone is ~6 % CPU. These files cost tens of microseconds.
 * Example: `TCP: inuse 5 orphan 0 tw 26 alloc 45 mem 3` -> `TCP: inuse 5`; the snmp part -> `Tcp: 362 200 157 11 3`.
 */
export function socketTableSignature(procRoot = '/proc'): (() => string | undefined) | undefined {
  // kept open and re-read with pread at offset 0 (seq_file regenerates): a third of the CPU of
  // readFileSync, which matters at 7 reads a second on an idle host
  const sockstat: number[] = [];
  for (const name of ['net/sockstat', 'net/sockstat6']) {
    const fd = tryOpen(`${procRoot}/${name}`);
    if (fd !== undefined) sockstat.push(fd);
    else if (sockstat.length === 0) return undefined; // no sockstat: no signal (sockstat6 is absent without IPv6)
  }
  const snmp = tryOpen(`${procRoot}/net/snmp`);
  const buf = Buffer.alloc(8192);
  const read = (fd: number) => buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0));
  let lastRaw = '';
  let lastSig = '';
  return () => {
    let raw = '';
    let tcp = '';
    try {
      for (const fd of sockstat) raw += read(fd);
      if (snmp !== undefined) tcp = tcpEvents(read(snmp));
    } catch {
      return undefined;
    }
    if (raw !== lastRaw) {
      lastRaw = raw;
      lastSig = '';
      for (const line of raw.split('\n')) {
        if (/^(TCP|UDP)6?:/.test(line)) lastSig += `${line.replace(/ (orphan|tw|alloc|mem|memory) \d+/g, '')}\n`;
      }
    }
    return lastSig + tcp;
  };
}

function tryOpen(path: string): number | undefined {
  try {
    return openSync(path, 'r');
  } catch {
    return undefined;
  }
}

/** `Tcp: <TCP_EVENT_FIELDS values>\n` from /proc/net/snmp's text (a header line, then a values line); '' if absent. */
export function tcpEvents(snmp: string): string {
  const start = snmp.indexOf('Tcp: ');
  if (start < 0) return '';
  const lines = snmp.slice(start).split('\n', 2);
  const names = lines[0]?.split(' ') ?? [];
  const values = lines[1]?.split(' ') ?? [];
  if (values[0] !== 'Tcp:') return '';
  return `Tcp: ${TCP_EVENT_FIELDS.map((f) => values[names.indexOf(f)] ?? '?').join(' ')}\n`;
}
