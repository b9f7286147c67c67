import { EncodeError } from './errors.ts';

const textEncoder = new TextEncoder();

/**
 * Cursor that fills a buffer of known size, allocated once by the caller's size computation.
 * Every write asserts its range, so an encoder bug fails loudly instead of corrupting a frame.
 */
export class ByteWriter {
  readonly bytes: Uint8Array;
  readonly #view: DataView;
  #pos: number;

  /** Wraps `bytes`, starting at `offset`. */
  constructor(bytes: Uint8Array, offset = 0) {
    this.bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#pos = offset;
  }

  /** Bytes written so far (including the start offset). */
  get position(): number {
    return this.#pos;
  }

  #int(value: number, max: number, field: string): void {
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new EncodeError(`${field} must be an integer in 0..${max}, got ${value}`);
    }
  }

  /** Writes an unsigned byte. */
  u8(value: number, field: string): this {
    this.#int(value, 0xff, field);
    this.#view.setUint8(this.#pos, value);
    this.#pos += 1;
    return this;
  }

  /** Writes an unsigned 16-bit integer. */
  u16(value: number, field: string): this {
    this.#int(value, 0xffff, field);
    this.#view.setUint16(this.#pos, value);
    this.#pos += 2;
    return this;
  }

  /** Writes an unsigned 32-bit integer. */
  u32(value: number, field: string): this {
    this.#int(value, 0xffffffff, field);
    this.#view.setUint32(this.#pos, value);
    this.#pos += 4;
    return this;
  }

  /** Writes an unsigned 64-bit integer. */
  u64(value: bigint, field: string): this {
    if (value < 0n || value > 0xffffffffffffffffn) {
      throw new EncodeError(`${field} must fit in u64, got ${value}`);
    }
    this.#view.setBigUint64(this.#pos, value);
    this.#pos += 8;
    return this;
  }

  /** Copies `src` in (the one copy of a payload). */
  raw(src: Uint8Array): this {
    this.bytes.set(src, this.#pos);
    this.#pos += src.byteLength;
    return this;
  }
}

/** UTF-8 bytes of a string. */
export function utf8Bytes(text: string): Uint8Array {
  return textEncoder.encode(text);
}

/** UTF-8 bytes of a string cut to at most `max` bytes on a character boundary. */
export function utf8Truncated(text: string, max: number): Uint8Array {
  const bytes = textEncoder.encode(text);
  if (bytes.byteLength <= max) return bytes;
  let end = max;
  // Step back over UTF-8 continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}
