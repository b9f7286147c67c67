import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';

/** Transport kind bytes of the negotiation messages. */
export const TransportKind = { stdio: 0x00, tcp: 0x01, quic: 0x02 } as const;

/** A transport name. */
export type TransportName = keyof typeof TransportKind;

/** Version of the TransportOffer format this code writes. */
export const TRANSPORT_OFFER_VERSION = 1;

/** One transport the agent can serve. Unknown kinds are kept raw so newer agents stay readable. */
export type TransportEntry =
  | { kind: 'stdio' }
  | { kind: 'tcp'; port: number; secret: Uint8Array }
  | { kind: 'quic'; port: number; fingerprint: Uint8Array }
  | { kind: 'unknown'; code: number; data: Uint8Array };

/*
 * TransportOffer layout: [version:4][count:1] then count entries of [kind:1][data_len:2][data]
 *   stdio data: empty
 *   tcp   data: [port:2][secret:rest]      (secret: random bytes the host must present first)
 *   quic  data: [port:2][fingerprint:32]   (SHA-256 of the agent's certificate, DER)
 */

function entryDataSize(e: TransportEntry): number {
  switch (e.kind) {
    case 'stdio':
      return 0;
    case 'tcp':
      return 2 + e.secret.byteLength;
    case 'quic':
      return 2 + e.fingerprint.byteLength;
    case 'unknown':
      return e.data.byteLength;
  }
}

/** Encoded size of the offer's payload. */
export function transportOfferSize(entries: readonly TransportEntry[]): number {
  return 4 + 1 + entries.reduce((n, e) => n + 3 + entryDataSize(e), 0);
}

/** Writes an offer payload. */
export function writeTransportOffer(w: ByteWriter, version: number, entries: readonly TransportEntry[]): void {
  w.u32(version, 'version').u8(entries.length, 'count');
  for (const e of entries) {
    w.u8(e.kind === 'unknown' ? e.code : TransportKind[e.kind], 'kind');
    w.u16(entryDataSize(e), 'data_len');
    if (e.kind === 'tcp') w.u16(e.port, 'port').raw(e.secret);
    else if (e.kind === 'quic') w.u16(e.port, 'port').raw(e.fingerprint);
    else if (e.kind === 'unknown') w.raw(e.data);
  }
}

/** Reads an offer payload. */
export function readTransportOffer(r: ByteReader): { version: number; entries: TransportEntry[] } {
  const version = r.u32('version');
  const count = r.u8('count');
  const entries: TransportEntry[] = [];
  for (let i = 0; i < count; i++) {
    const code = r.u8('kind');
    const len = r.u16('data_len');
    const data = r.bytes(len, 'data');
    if (code === TransportKind.stdio) entries.push({ kind: 'stdio' });
    else if (code === TransportKind.tcp) {
      if (len < 2) throw r.error(`tcp offer data is ${len} bytes, need >= 2`);
      const port = ((data[0] ?? 0) << 8) | (data[1] ?? 0);
      entries.push({ kind: 'tcp', port, secret: data.subarray(2) });
    } else if (code === TransportKind.quic) {
      if (len < 34) throw r.error(`quic offer data is ${len} bytes, need >= 34`);
      const port = ((data[0] ?? 0) << 8) | (data[1] ?? 0);
      entries.push({ kind: 'quic', port, fingerprint: data.subarray(2, 34) });
    } else entries.push({ kind: 'unknown', code, data });
  }
  return { version, entries };
}
