import type { ByteReader } from './byte-reader.ts';
import { type ByteWriter, utf8Truncated } from './byte-writer.ts';
import { EncodeError } from './errors.ts';
import { canonicalIp, formatIPv4, formatIPv6, ipBytes } from './ip-address.ts';

/** Transport protocol of a listening socket. */
export type SocketProtocol = 'tcp' | 'udp';

/** One listening socket as the scanner saw it: one entry per (protocol, port, address). */
export interface ListeningSocket {
  protocol: SocketProtocol;
  port: number;
  /** Canonical textual IP: `0.0.0.0`, `127.0.0.1`, `::`, `::1`, `10.0.0.5`... */
  address: string;
  /** Process label (comm, or a richer name); empty when unknown. At most 255 UTF-8 bytes on the wire. */
  process: string;
}

const PROTO_BYTE = { tcp: 0, udp: 1 } as const;

/** Stable identity of a socket entry, for sets and diffs. */
export function socketKey(s: Pick<ListeningSocket, 'protocol' | 'port' | 'address'>): string {
  return `${s.protocol}/${s.address}/${s.port}`;
}

/*
 * Scan list layout (big-endian):
 *   [count:2] then count entries of
 *   [protocol:1 0=tcp 1=udp][port:2][addr_type:1 4|6][addr:4|16][name_len:1][name:name_len UTF-8]
 */

/** Encoded size of a scan list, for one-shot allocation. */
export function scanListSize(entries: readonly ListeningSocket[]): number {
  let size = 2;
  for (const e of entries) {
    size += 1 + 2 + 1 + ipBytes(e.address).byteLength + 1 + utf8Truncated(e.process, 255).byteLength;
  }
  return size;
}

/** Writes a scan list at the writer's position. */
export function writeScanList(w: ByteWriter, entries: readonly ListeningSocket[]): void {
  if (entries.length > 0xffff) {
    throw new EncodeError(`scan list has ${entries.length} entries, max 65535`);
  }
  w.u16(entries.length, 'count');
  for (const e of entries) {
    const addr = ipBytes(e.address);
    const name = utf8Truncated(e.process, 255);
    w.u8(PROTO_BYTE[e.protocol], 'protocol')
      .u16(e.port, 'port')
      .u8(addr.byteLength === 4 ? 4 : 6, 'addr_type')
      .raw(addr)
      .u8(name.byteLength, 'name_len')
      .raw(name);
  }
}

/** Reads a scan list at the reader's position. */
export function readScanList(r: ByteReader): ListeningSocket[] {
  const count = r.u16('count');
  const out: ListeningSocket[] = [];
  for (let i = 0; i < count; i++) {
    const protoByte = r.u8('protocol');
    if (protoByte > 1) throw r.error(`entry ${i}: unknown protocol ${protoByte}`);
    const port = r.u16('port');
    const addrType = r.u8('addr_type');
    let address: string;
    if (addrType === 4) address = formatIPv4(r.bytes(4, 'addr'));
    else if (addrType === 6) address = canonicalIp(formatIPv6(r.bytes(16, 'addr')));
    else throw r.error(`entry ${i}: unknown addr_type ${addrType}`);
    const nameLen = r.u8('name_len');
    const process = r.utf8(nameLen, 'name');
    out.push({ protocol: protoByte === 0 ? 'tcp' : 'udp', port, address, process });
  }
  return out;
}
