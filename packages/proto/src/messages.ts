import { ByteReader } from './byte-reader.ts';
import { ByteWriter, utf8Bytes } from './byte-writer.ts';
import { EncodeError, ProtocolError } from './errors.ts';
import { FRAME_HEADER_SIZE } from './frame.ts';
import { canonicalIp, formatIPv4, formatIPv6, ipBytes } from './ip-address.ts';
import { type LogEvent, logEventSize, readLogEvent, writeLogEvent } from './log-event.ts';
import { MessageType, messageTypeName } from './message-type.ts';
import { type ListeningSocket, readScanList, scanListSize, writeScanList } from './scan-list.ts';
import {
  readTransportOffer,
  type TransportEntry,
  TransportKind,
  type TransportName,
  transportOfferSize,
  writeTransportOffer,
} from './transport-offer.ts';

/** What the agent says about itself right after it starts (JSON on the wire). */
export interface AgentInfo {
  version: string;
  /** `process.platform` of the remote, e.g. `linux`. */
  platform: string;
  /** `process.arch` of the remote, e.g. `x64`. */
  arch: string;
  pid: number;
  /** Scanner backend in use (`procfs`, `ss`, `netstat`), or `none`. */
  scanner: string;
  /** Optional features, e.g. `udp`, `watch`. */
  capabilities: string[];
}

/** Every message of the protocol, discriminated by `type`. */
export type Message =
  | { type: 'UdpPacket'; srcPort: number; dstPort: number; id: number; data: Uint8Array }
  | { type: 'Ping'; value: bigint }
  | { type: 'Pong'; value: bigint }
  | { type: 'ScanRequest'; tcp: boolean; udp: boolean }
  | { type: 'ScanResponse'; sockets: ListeningSocket[] }
  | { type: 'StartUdpForward'; port: number; address: string }
  | { type: 'StopUdpForward'; port: number }
  | { type: 'LogBatch'; events: LogEvent[] }
  | { type: 'WatchRequest'; tcp: boolean; udp: boolean; intervalMs: number }
  | { type: 'ScanDelta'; full: boolean; added: ListeningSocket[]; removed: ListeningSocket[] }
  | { type: 'AgentHello'; info: AgentInfo }
  | { type: 'Shutdown' }
  | { type: 'DataPathRequest' }
  | { type: 'DataPathOffer'; port: number; echoPort: number; key: Uint8Array; reason: string }
  | { type: 'TransportOffer'; version: number; entries: TransportEntry[] }
  | { type: 'TransportAccept'; kind: TransportName | number; data: Uint8Array };

/** The message of a given `type`. */
export type MessageOf<T extends Message['type']> = Extract<Message, { type: T }>;

/** A frame whose type byte this version does not know; skipped by readers, reported to logs. */
export interface UnknownMessage {
  type: 'Unknown';
  typeByte: number;
  length: number;
}

const PROTOCOL_BITS = (tcp: boolean, udp: boolean) => (tcp ? 1 : 0) | (udp ? 2 : 0);

function payloadSize(m: Message): number {
  switch (m.type) {
    case 'UdpPacket':
      return 8 + m.data.byteLength;
    case 'Ping':
    case 'Pong':
      return 8;
    case 'ScanRequest':
      return 1;
    case 'ScanResponse':
      return scanListSize(m.sockets);
    case 'StartUdpForward':
      return 3 + ipBytes(m.address).byteLength;
    case 'StopUdpForward':
      return 2;
    case 'LogBatch':
      return 2 + m.events.reduce((n, e) => n + logEventSize(e), 0);
    case 'WatchRequest':
      return 3;
    case 'ScanDelta':
      return 1 + scanListSize(m.added) + scanListSize(m.removed);
    case 'AgentHello':
      return utf8Bytes(JSON.stringify(m.info)).byteLength;
    case 'Shutdown':
    case 'DataPathRequest':
      return 0;
    case 'DataPathOffer':
      return 5 + m.key.byteLength + utf8Bytes(m.reason).byteLength;
    case 'TransportOffer':
      return transportOfferSize(m.entries);
    case 'TransportAccept':
      return 1 + m.data.byteLength;
  }
}

/*
 * Payload layouts (all integers big-endian):
 *   UdpPacket       [src_port:2][dst_port:2][id:4][data]
 *   Ping / Pong     [value:8]
 *   ScanRequest     [flags:1]  bit0 tcp, bit1 udp
 *   ScanResponse    scan list (scan-list.ts)
 *   StartUdpForward [port:2][addr_type:1 4|6][addr:4|16]
 *   StopUdpForward  [port:2]
 *   LogBatch        [count:2][event...] (log-event.ts)
 *   WatchRequest    [flags:1 bit0 tcp, bit1 udp][interval_ms:2]  interval 0 = stop watching
 *   ScanDelta       [flags:1 bit0 full snapshot][added: scan list][removed: scan list]
 *   AgentHello      UTF-8 JSON of AgentInfo
 *   Shutdown        empty
 *   DataPathRequest empty (host -> agent: open the direct data path's listener)
 *   DataPathOffer   [port:2][echo_port:2][key_len:1][key][reason: UTF-8 rest]  port 0 = none, with the reason;
 *                   echo_port: a loopback TCP echo both paths are timed against
 *   TransportOffer  transport-offer.ts
 *   TransportAccept [kind:1][data: rest]
 */

/** Encodes a message as one complete frame (header + payload) in a single allocation. */
export function encodeMessage(m: Message): Uint8Array {
  const size = payloadSize(m);
  const frame = new Uint8Array(FRAME_HEADER_SIZE + size);
  const w = new ByteWriter(frame);
  w.u8(MessageType[m.type], 'type').u32(size, 'length');
  switch (m.type) {
    case 'UdpPacket':
      w.u16(m.srcPort, 'src_port').u16(m.dstPort, 'dst_port').u32(m.id, 'id').raw(m.data);
      break;
    case 'Ping':
    case 'Pong':
      w.u64(m.value, 'value');
      break;
    case 'ScanRequest':
      w.u8(PROTOCOL_BITS(m.tcp, m.udp), 'flags');
      break;
    case 'ScanResponse':
      writeScanList(w, m.sockets);
      break;
    case 'StartUdpForward': {
      const addr = ipBytes(m.address);
      w.u16(m.port, 'port')
        .u8(addr.byteLength === 4 ? 4 : 6, 'addr_type')
        .raw(addr);
      break;
    }
    case 'StopUdpForward':
      w.u16(m.port, 'port');
      break;
    case 'LogBatch':
      w.u16(m.events.length, 'count');
      for (const e of m.events) writeLogEvent(w, e);
      break;
    case 'WatchRequest':
      w.u8(PROTOCOL_BITS(m.tcp, m.udp), 'flags').u16(m.intervalMs, 'interval_ms');
      break;
    case 'ScanDelta':
      w.u8(m.full ? 1 : 0, 'flags');
      writeScanList(w, m.added);
      writeScanList(w, m.removed);
      break;
    case 'AgentHello':
      w.raw(utf8Bytes(JSON.stringify(m.info)));
      break;
    case 'Shutdown':
    case 'DataPathRequest':
      break;
    case 'DataPathOffer':
      w.u16(m.port, 'port')
        .u16(m.echoPort, 'echo_port')
        .u8(m.key.byteLength, 'key_len')
        .raw(m.key)
        .raw(utf8Bytes(m.reason));
      break;
    case 'TransportOffer':
      writeTransportOffer(w, m.version, m.entries);
      break;
    case 'TransportAccept':
      w.u8(typeof m.kind === 'number' ? m.kind : TransportKind[m.kind], 'kind').raw(m.data);
      break;
  }
  if (w.position !== frame.byteLength) {
    throw new EncodeError(`${m.type}: wrote ${w.position} bytes, sized ${frame.byteLength}`);
  }
  return frame;
}

const TRANSPORT_NAMES = new Map<number, TransportName>(
  Object.entries(TransportKind).map(([k, v]) => [v, k as TransportName]),
);

function readAgentInfo(r: ByteReader): AgentInfo {
  const text = r.utf8(r.remaining, 'json');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (cause) {
    throw new ProtocolError('AgentHello: payload is not JSON', { cause });
  }
  const o = v as Partial<AgentInfo> | null;
  if (
    !o ||
    typeof o !== 'object' ||
    typeof o.version !== 'string' ||
    typeof o.platform !== 'string' ||
    typeof o.arch !== 'string' ||
    typeof o.pid !== 'number' ||
    typeof o.scanner !== 'string' ||
    !Array.isArray(o.capabilities)
  ) {
    throw new ProtocolError('AgentHello: missing or mistyped fields');
  }
  return o as AgentInfo;
}

/**
 * Decodes one frame's payload. Throws only ProtocolError (truncated, trailing bytes, bad enum
 * values, bad UTF-8). Unknown type bytes yield an UnknownMessage for the caller to skip.
 * Byte fields (UdpPacket data, offer secrets) are views into `payload`, not copies.
 */
export function decodeMessage(type: number, payload: Uint8Array): Message | UnknownMessage {
  const r = new ByteReader(payload, messageTypeName(type));
  let m: Message | UnknownMessage;
  switch (type) {
    case MessageType.UdpPacket:
      m = {
        type: 'UdpPacket',
        srcPort: r.u16('src_port'),
        dstPort: r.u16('dst_port'),
        id: r.u32('id'),
        data: r.rest(),
      };
      break;
    case MessageType.Ping:
      m = { type: 'Ping', value: r.u64('value') };
      break;
    case MessageType.Pong:
      m = { type: 'Pong', value: r.u64('value') };
      break;
    case MessageType.ScanRequest: {
      const flags = r.u8('flags');
      m = { type: 'ScanRequest', tcp: (flags & 1) !== 0, udp: (flags & 2) !== 0 };
      break;
    }
    case MessageType.ScanResponse:
      m = { type: 'ScanResponse', sockets: readScanList(r) };
      break;
    case MessageType.StartUdpForward: {
      const port = r.u16('port');
      const addrType = r.u8('addr_type');
      let address: string;
      if (addrType === 4) address = formatIPv4(r.bytes(4, 'addr'));
      else if (addrType === 6) address = canonicalIp(formatIPv6(r.bytes(16, 'addr')));
      else throw r.error(`unknown addr_type ${addrType}`);
      m = { type: 'StartUdpForward', port, address };
      break;
    }
    case MessageType.StopUdpForward:
      m = { type: 'StopUdpForward', port: r.u16('port') };
      break;
    case MessageType.LogBatch: {
      const count = r.u16('count');
      const events: LogEvent[] = [];
      for (let i = 0; i < count; i++) events.push(readLogEvent(r));
      m = { type: 'LogBatch', events };
      break;
    }
    case MessageType.WatchRequest: {
      const flags = r.u8('flags');
      m = { type: 'WatchRequest', tcp: (flags & 1) !== 0, udp: (flags & 2) !== 0, intervalMs: r.u16('interval_ms') };
      break;
    }
    case MessageType.ScanDelta: {
      const full = (r.u8('flags') & 1) !== 0;
      m = { type: 'ScanDelta', full, added: readScanList(r), removed: readScanList(r) };
      break;
    }
    case MessageType.AgentHello:
      m = { type: 'AgentHello', info: readAgentInfo(r) };
      break;
    case MessageType.Shutdown:
      m = { type: 'Shutdown' };
      break;
    case MessageType.DataPathRequest:
      m = { type: 'DataPathRequest' };
      break;
    case MessageType.DataPathOffer: {
      const port = r.u16('port');
      const echoPort = r.u16('echo_port');
      const key = r.bytes(r.u8('key_len'), 'key');
      m = { type: 'DataPathOffer', port, echoPort, key, reason: r.utf8(r.remaining, 'reason') };
      break;
    }
    case MessageType.TransportOffer:
      m = { type: 'TransportOffer', ...readTransportOffer(r) };
      break;
    case MessageType.TransportAccept: {
      const code = r.u8('kind');
      m = { type: 'TransportAccept', kind: TRANSPORT_NAMES.get(code) ?? code, data: r.rest() };
      break;
    }
    default:
      return { type: 'Unknown', typeByte: type, length: payload.byteLength };
  }
  r.end();
  return m;
}
