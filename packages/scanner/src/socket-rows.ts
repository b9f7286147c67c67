import { type ListeningSocket, socketKey } from '@port-linker/proto';
import type { ScanResult } from './scanner-types.ts';

/** A listening socket as one parser line saw it, before dedupe: `pid` and `inode` are 0 when the source does not say. */
export interface SocketRow extends ListeningSocket {
  pid: number;
  inode: number;
}

/** What a pure text parser returns: the listener rows, and how many lines it had to skip as malformed. */
export interface ParseResult {
  rows: SocketRow[];
  malformed: number;
}

/** Called by parsers for each malformed line (the scanners log these at debug level). */
export type MalformedHandler = (line: string, reason: string) => void;

/** Sort order of scan results: tcp before udp, then port, then IPv4 before IPv6, then address text. */
export function compareSockets(a: ListeningSocket, b: ListeningSocket): number {
  if (a.protocol !== b.protocol) return a.protocol === 'tcp' ? -1 : 1;
  if (a.port !== b.port) return a.port - b.port;
  const a6 = a.address.includes(':');
  const b6 = b.address.includes(':');
  if (a6 !== b6) return a6 ? 1 : -1;
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

/**
 * Turns parser rows into a scan: one entry per (protocol, port, address), sorted. Several rows for one key
 * (SO_REUSEPORT workers, a socket shared after fork) keep the smallest non-empty process name, so the
 * result does not depend on line order.
 */
export function toScanResult(parsed: ParseResult | readonly ParseResult[]): ScanResult {
  const parts = Array.isArray(parsed) ? (parsed as readonly ParseResult[]) : [parsed as ParseResult];
  const byKey = new Map<string, ListeningSocket>();
  let malformed = 0;
  for (const part of parts) {
    malformed += part.malformed;
    for (const row of part.rows) {
      const key = socketKey(row);
      const seen = byKey.get(key);
      if (!seen) {
        byKey.set(key, { protocol: row.protocol, port: row.port, address: row.address, process: row.process });
      } else if (row.process !== '' && (seen.process === '' || row.process < seen.process)) {
        seen.process = row.process;
      }
    }
  }
  return { sockets: [...byKey.values()].sort(compareSockets), malformed };
}
