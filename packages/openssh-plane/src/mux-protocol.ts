/**
 * The ControlMaster multiplexing protocol (OpenSSH's PROTOCOL.mux), the part port-linker speaks: hello, alive
 * check, open and close of a local forward, terminate. Every message is `uint32 length, uint32 type, body`, with
 * SSH wire types (uint32 big-endian, string = uint32 length + bytes).
 */

export const MUX_MSG_HELLO = 0x00000001;
export const MUX_C_ALIVE_CHECK = 0x10000004;
export const MUX_C_TERMINATE = 0x10000005;
export const MUX_C_OPEN_FWD = 0x10000006;
export const MUX_C_CLOSE_FWD = 0x10000007;
export const MUX_S_OK = 0x80000001;
export const MUX_S_PERMISSION_DENIED = 0x80000002;
export const MUX_S_FAILURE = 0x80000003;
export const MUX_S_ALIVE = 0x80000005;
export const MUX_S_REMOTE_PORT = 0x80000007;
export const MUX_FWD_LOCAL = 1;
/** The protocol version this client speaks (OpenSSH 5.x to 9.x). */
export const MUX_VERSION = 4;
/** A master never sends more than a reason string; anything longer is not a master. */
const MAX_PACKET = 256 * 1024;

/** One protocol message: its type and the bytes after it. */
export interface MuxPacket {
  type: number;
  body: Buffer;
}

/** The fields of a message body, in order: a number is a uint32, a string an SSH string. */
export type MuxField = number | string;

/** Encodes one message. */
export function encodePacket(type: number, fields: readonly MuxField[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of fields) {
    if (typeof f === 'number') parts.push(uint32(f));
    else {
      const s = Buffer.from(f, 'utf8');
      parts.push(uint32(s.length), s);
    }
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([uint32(body.length + 4), uint32(type), body]);
}

function uint32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** Splits a byte stream into messages; throws on a length no master would send. */
export class PacketReader {
  #buf: Buffer = Buffer.alloc(0);

  /** Adds bytes; returns the messages they complete. */
  push(chunk: Buffer): MuxPacket[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: MuxPacket[] = [];
    for (;;) {
      if (this.#buf.length < 4) return out;
      const len = this.#buf.readUInt32BE(0);
      if (len < 4 || len > MAX_PACKET) throw new Error(`mux: bad packet length ${len}`);
      if (this.#buf.length < 4 + len) return out;
      out.push({ type: this.#buf.readUInt32BE(4), body: this.#buf.subarray(8, 4 + len) });
      this.#buf = this.#buf.subarray(4 + len);
    }
  }
}

/** Reads SSH wire fields from a message body. */
export class BodyReader {
  readonly #b: Buffer;
  #at = 0;

  constructor(body: Buffer) {
    this.#b = body;
  }

  uint32(): number {
    if (this.#at + 4 > this.#b.length) throw new Error('mux: message too short');
    const v = this.#b.readUInt32BE(this.#at);
    this.#at += 4;
    return v;
  }

  string(): string {
    const n = this.uint32();
    if (this.#at + n > this.#b.length) throw new Error('mux: string past the end of the message');
    const s = this.#b.toString('utf8', this.#at, this.#at + n);
    this.#at += n;
    return s;
  }
}
