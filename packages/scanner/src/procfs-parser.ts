import { canonicalIp, formatIPv4, formatIPv6, type SocketProtocol } from '@port-linker/proto';
import type { MalformedHandler, ParseResult, SocketRow } from './socket-rows.ts';

/** Socket states as /proc/net prints them (include/net/tcp_states.h): TCP_LISTEN, and TCP_CLOSE for unconnected UDP. */
export const ProcSocketState = { tcpListen: '0A', udpUnconnected: '07' } as const;

/** The /proc/net files the procfs backend reads, with the protocol each one lists. */
export const PROC_NET_FILES = [
  { name: 'tcp', protocol: 'tcp' },
  { name: 'tcp6', protocol: 'tcp' },
  { name: 'udp', protocol: 'udp' },
  { name: 'udp6', protocol: 'udp' },
] as const satisfies readonly { name: string; protocol: SocketProtocol }[];

const addressCache = new Map<string, string>();
const HEX = /^[0-9A-Fa-f]+$/;

/**
 * Decodes a /proc/net address: the kernel prints each 32-bit word of the address in host byte order, so on
 * little-endian machines (x86, arm64) 127.0.0.1 reads `0100007F`, and ::1 reads
 * `00000000000000000000000001000000` (four words, each byte-swapped). IPv4-mapped `::ffff:a.b.c.d` comes back as
 * plain IPv4 (`0000000000000000FFFF00000100007F` -> `127.0.0.1`). Undefined when it is not 8 or 32 hex digits.
 */
export function decodeProcAddress(hex: string, littleEndian = true): string | undefined {
  const cacheKey = littleEndian ? hex : `be:${hex}`;
  const hit = addressCache.get(cacheKey);
  if (hit !== undefined) return hit;
  if ((hex.length !== 8 && hex.length !== 32) || !HEX.test(hex)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let word = 0; word < hex.length / 8; word++) {
    for (let i = 0; i < 4; i++) {
      const src = word * 8 + (littleEndian ? 6 - i * 2 : i * 2);
      bytes[word * 4 + i] = Number.parseInt(hex.slice(src, src + 2), 16);
    }
  }
  const text = bytes.length === 4 ? formatIPv4(bytes) : canonicalIp(formatIPv6(bytes));
  if (addressCache.size > 4096) addressCache.clear();
  addressCache.set(cacheKey, text);
  return text;
}

/** Outcome of one /proc/net line: a listener row, a line that is fine but not a listener, or malformed. */
export type ProcNetLine = SocketRow | 'skip' | 'malformed';

/**
 * Parses one line of /proc/net/{tcp,tcp6,udp,udp6}:
 *   `   0: 0100007F:1B5A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 22250 1 ...`
 *   (sl, local addr:port, remote addr:port, state, queues, timer, retransmits, uid, timeout, inode, ...)
 * Listeners are TCP in state 0A and UDP in state 07 (unconnected). Headers and blank lines are 'skip'.
 */
export function parseProcNetLine(line: string, protocol: SocketProtocol, littleEndian = true): ProcNetLine {
  const f = line.trim().split(/\s+/);
  if (f.length === 1 && f[0] === '') return 'skip';
  if (f[0] === 'sl') return 'skip';
  if (f.length < 10 || !f[0]?.endsWith(':')) return 'malformed';
  const local = f[1] ?? '';
  const state = f[3] ?? '';
  const inodeText = f[9] ?? '';
  const colon = local.indexOf(':');
  const portHex = local.slice(colon + 1);
  if (colon < 0 || portHex.length !== 4 || !HEX.test(portHex) || !/^[0-9A-Fa-f]{2}$/.test(state)) return 'malformed';
  if (!/^\d+$/.test(inodeText)) return 'malformed';
  const address = decodeProcAddress(local.slice(0, colon), littleEndian);
  if (address === undefined) return 'malformed';
  const wanted = protocol === 'tcp' ? ProcSocketState.tcpListen : ProcSocketState.udpUnconnected;
  const port = Number.parseInt(portHex, 16);
  if (state.toUpperCase() !== wanted || port === 0) return 'skip';
  return { protocol, port, address, process: '', pid: 0, inode: Number(inodeText) };
}

/** Parses a whole /proc/net file of one protocol; malformed lines are skipped and counted, never thrown. */
export function parseProcNetFile(
  text: string,
  protocol: SocketProtocol,
  onMalformed?: MalformedHandler,
  littleEndian = true,
): ParseResult {
  const rows: SocketRow[] = [];
  let malformed = 0;
  for (const line of text.split('\n')) {
    const r = parseProcNetLine(line, protocol, littleEndian);
    if (r === 'skip') continue;
    if (r === 'malformed') {
      malformed++;
      onMalformed?.(line, `not a /proc/net/${protocol} line`);
      continue;
    }
    rows.push(r);
  }
  return { rows, malformed };
}
