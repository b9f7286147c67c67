import { readFileSync } from 'node:fs';

/**
 * A cheap "did any socket table change" probe for Linux: the TCP/UDP lines of /proc/net/sockstat
 * and sockstat6 (per network namespace), minus the `mem` fields that move with buffered data.
 *
 * Why: a full procfs scan reads /proc/net/tcp*, which the kernel answers by walking its whole socket
 * hash (measured ~9 ms of system CPU per scan on a 2-core VM with 17 sockets); at one scan per
 * 150 ms that alone is ~6 % CPU. These counters cost ~70 us to read. A listen() hashes the socket
 * (`TCP: inuse` +1; a UDP bind does the same for `UDP: inuse`), so a new listener changes the
 * signature. A close that exactly cancels an open in the same tick would not (a closing connection
 * usually also moves `tw`), which is why the watch loop still rescans in full every few seconds.
 * Example: `TCP: inuse 5 orphan 0 tw 26 alloc 45 mem 3` -> `TCP: inuse 5 orphan 0 tw 26 alloc 45`.
 */
export function socketTableSignature(procRoot = '/proc'): (() => string | undefined) | undefined {
  const files = [`${procRoot}/net/sockstat`, `${procRoot}/net/sockstat6`];
  const read = (): string | undefined => {
    let sig = '';
    for (const [i, f] of files.entries()) {
      let text: string;
      try {
        text = readFileSync(f, 'latin1');
      } catch {
        if (i === 0) return undefined; // no sockstat: no signal at all (sockstat6 is absent without IPv6)
        continue;
      }
      for (const line of text.split('\n')) {
        if (/^(TCP|UDP)6?:/.test(line)) sig += `${line.replace(/ mem(ory)? \d+/g, '')}\n`;
      }
    }
    return sig;
  };
  return read() ? read : undefined;
}
