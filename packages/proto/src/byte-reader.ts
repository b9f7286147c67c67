import { ProtocolError } from './errors.ts';

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Cursor over one payload. Every read checks bounds and throws ProtocolError, so a malformed
 * payload can never surface as a RangeError. All integers are big-endian (network order).
 */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #what: string;
  #pos = 0;

  /** `what` names the payload in error messages, e.g. "ScanResponse". */
  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#what = what;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.#bytes.byteLength - this.#pos;
  }

  #need(n: number, field: string): number {
    if (this.remaining < n) {
      throw new ProtocolError(
        `${this.#what}: truncated at ${field} (need ${n} bytes at offset ${this.#pos}, have ${this.remaining})`,
      );
    }
    const at = this.#pos;
    this.#pos += n;
    return at;
  }

  /** Reads an unsigned byte. */
  u8(field: string): number {
    return this.#view.getUint8(this.#need(1, field));
  }

  /** Reads an unsigned 16-bit integer. */
  u16(field: string): number {
    return this.#view.getUint16(this.#need(2, field));
  }

  /** Reads an unsigned 32-bit integer. */
  u32(field: string): number {
    return this.#view.getUint32(this.#need(4, field));
  }

  /** Reads an unsigned 64-bit integer. */
  u64(field: string): bigint {
    return this.#view.getBigUint64(this.#need(8, field));
  }

  /** Returns the next `n` bytes without copying. */
  bytes(n: number, field: string): Uint8Array {
    const at = this.#need(n, field);
    return this.#bytes.subarray(at, at + n);
  }

  /** Returns everything left without copying. */
  rest(): Uint8Array {
    return this.bytes(this.remaining, 'rest');
  }

  /** Reads `n` bytes of strict UTF-8. */
  utf8(n: number, field: string): string {
    const raw = this.bytes(n, field);
    try {
      return textDecoder.decode(raw);
    } catch (cause) {
      throw new ProtocolError(`${this.#what}: ${field} is not valid UTF-8`, { cause });
    }
  }

  /** A ProtocolError naming this payload, for semantic checks by callers (`throw r.error(...)`). */
  error(detail: string): ProtocolError {
    return new ProtocolError(`${this.#what}: ${detail}`);
  }

  /** Throws unless the payload was consumed exactly. */
  end(): void {
    if (this.remaining !== 0) {
      throw new ProtocolError(`${this.#what}: ${this.remaining} unexpected trailing bytes`);
    }
  }
}
