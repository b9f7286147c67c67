import { ProtocolError } from './errors.ts';

/**
 * The direct data path's stream multiplexing (one TLS connection from the host to the agent carries every forwarded
 * TCP connection of the host). Frame: [type:1][stream:4][length:4][payload]; integers big-endian.
 *
 *   OPEN    [port:2][host: UTF-8, rest]   host -> agent: dial host:port on the remote; DATA may follow at once
 *   DATA    bytes of the stream           either way, within the peer's credit
 *   END     empty                         the sender will write no more (half-close)
 *   RESET   [reason: UTF-8, rest]         abort the stream both ways (dial failed, peer error)
 *   WINDOW  [bytes:4]                     the receiver consumed `bytes`: the sender may send that much more
 *   PING    [value:8]  /  PONG [value:8]  stream 0: round trip and liveness
 */
export const MuxFrame = {
  Open: 1,
  Data: 2,
  End: 3,
  Reset: 4,
  Window: 5,
  Ping: 6,
  Pong: 7,
} as const;

/** A frame type byte of the multiplexer. */
export type MuxFrameType = (typeof MuxFrame)[keyof typeof MuxFrame];

/** Header bytes before each payload. */
export const MUX_HEADER_SIZE = 9;
/** Largest control payload (OPEN with a 255-byte host name, a RESET reason). */
export const MUX_MAX_CONTROL = 1024;
/** Largest DATA payload of one frame (senders split above it). */
export const MUX_MAX_DATA = 1024 * 1024;

/** Writes a frame header into a new 9-byte buffer. */
export function muxHeader(type: MuxFrameType, stream: number, length: number): Uint8Array {
  const h = new Uint8Array(MUX_HEADER_SIZE);
  const v = new DataView(h.buffer);
  h[0] = type;
  v.setUint32(1, stream);
  v.setUint32(5, length);
  return h;
}

/** A whole control frame (header + payload) in one buffer. */
export function muxControl(type: MuxFrameType, stream: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const f = new Uint8Array(MUX_HEADER_SIZE + payload.byteLength);
  f.set(muxHeader(type, stream, payload.byteLength), 0);
  f.set(payload, MUX_HEADER_SIZE);
  return f;
}

/** OPEN's payload. */
export function muxOpenPayload(host: string, port: number): Uint8Array {
  const name = new TextEncoder().encode(host);
  if (name.byteLength === 0 || name.byteLength > 255)
    throw new ProtocolError(`OPEN: host name of ${name.byteLength} bytes`);
  const p = new Uint8Array(2 + name.byteLength);
  new DataView(p.buffer).setUint16(0, port);
  p.set(name, 2);
  return p;
}

/** Reads OPEN's payload. */
export function readMuxOpen(payload: Uint8Array): { host: string; port: number } {
  if (payload.byteLength < 3 || payload.byteLength > 257) throw new ProtocolError('OPEN: bad payload length');
  const port = new DataView(payload.buffer, payload.byteOffset, 2).getUint16(0);
  let host: string;
  try {
    host = new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(2));
  } catch {
    throw new ProtocolError('OPEN: host is not UTF-8');
  }
  if (port === 0) throw new ProtocolError('OPEN: port 0');
  return { host, port };
}

/** A 4-byte big-endian value (WINDOW). */
export function u32Payload(n: number): Uint8Array {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setUint32(0, n);
  return p;
}

/** What the parser hands over: DATA in pieces as they arrive, every other frame whole. */
export interface MuxHandlers {
  data(stream: number, chunk: Uint8Array): void;
  control(type: MuxFrameType, stream: number, payload: Uint8Array): void;
}

/**
 * Incremental frame parser: feed it the byte stream in any split. DATA payloads are passed on as slices of the input
 * (no copy, no reassembly); control payloads are collected (at most MUX_MAX_CONTROL bytes). Throws ProtocolError on an
 * unknown type or an oversized length; the stream cannot be resynchronised after that.
 */
export class MuxParser {
  readonly #h: MuxHandlers;
  readonly #header = new Uint8Array(MUX_HEADER_SIZE);
  #headerHave = 0;
  #type = 0;
  #stream = 0;
  /** Payload bytes still to come of the current frame; -1 while reading a header. */
  #left = -1;
  #control: Uint8Array | undefined;
  #controlHave = 0;

  constructor(handlers: MuxHandlers) {
    this.#h = handlers;
  }

  push(chunk: Uint8Array): void {
    let at = 0;
    const n = chunk.byteLength;
    while (at < n) {
      if (this.#left < 0) {
        const take = Math.min(MUX_HEADER_SIZE - this.#headerHave, n - at);
        if (this.#headerHave === 0 && take === MUX_HEADER_SIZE) {
          this.#begin(chunk, at);
        } else {
          this.#header.set(chunk.subarray(at, at + take), this.#headerHave);
          this.#headerHave += take;
          if (this.#headerHave < MUX_HEADER_SIZE) return;
          this.#begin(this.#header, 0);
        }
        at += take;
        this.#headerHave = 0;
        if (this.#left === 0) this.#finish();
        continue;
      }
      const take = Math.min(this.#left, n - at);
      if (this.#type === MuxFrame.Data) {
        this.#left -= take;
        this.#h.data(this.#stream, chunk.subarray(at, at + take));
        if (this.#left === 0) this.#left = -1;
      } else {
        (this.#control as Uint8Array).set(chunk.subarray(at, at + take), this.#controlHave);
        this.#controlHave += take;
        this.#left -= take;
        if (this.#left === 0) this.#finish();
      }
      at += take;
    }
  }

  #begin(b: Uint8Array, at: number): void {
    const type = b[at] as number;
    const stream = readU32(b, at + 1);
    const len = readU32(b, at + 5);
    this.#type = type;
    this.#stream = stream;
    if (type < MuxFrame.Open || type > MuxFrame.Pong) throw new ProtocolError(`mux: unknown frame type ${type}`);
    if (type === MuxFrame.Data) {
      if (len > MUX_MAX_DATA) throw new ProtocolError(`mux: DATA of ${len} bytes (max ${MUX_MAX_DATA})`);
      this.#left = len === 0 ? -1 : len;
      return;
    }
    if (len > MUX_MAX_CONTROL) throw new ProtocolError(`mux: control frame of ${len} bytes`);
    this.#control = new Uint8Array(len);
    this.#controlHave = 0;
    this.#left = len;
  }

  #finish(): void {
    const payload = this.#control as Uint8Array;
    this.#control = undefined;
    this.#left = -1;
    this.#h.control(this.#type as MuxFrameType, this.#stream, payload);
  }
}

function readU32(b: Uint8Array, at: number): number {
  return (
    (b[at] as number) * 0x1000000 +
    (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number))
  );
}
