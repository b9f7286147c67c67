import { ProtocolError } from './errors.ts';
import { DEFAULT_MAX_FRAME_LENGTH, FRAME_HEADER_SIZE, type Frame } from './frame.ts';
import { messageTypeName } from './message-type.ts';

/** Options of a FrameDecoder. */
export interface FrameDecoderOptions {
  /** Largest payload accepted, in bytes (default 16 MiB). */
  maxFrameLength?: number;
}

/**
 * Incremental TLV frame decoder: feed it any chunking of a byte stream, get whole frames back.
 *
 * It keeps a list of unread chunks and a byte count, and copies only when a frame spans chunks
 * (then exactly once, into the frame's own buffer). A header announcing more than
 * `maxFrameLength` throws at once, so memory is bounded by one frame plus one chunk and an
 * oversized frame can never turn into a silent wait. After a ProtocolError the stream is dead:
 * every later call throws the same error.
 */
export class FrameDecoder {
  readonly maxFrameLength: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #failed: ProtocolError | undefined;
  #offset = 0;

  /** Creates a decoder; `maxFrameLength` bounds a single payload. */
  constructor(options: FrameDecoderOptions = {}) {
    this.maxFrameLength = options.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH;
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Appends a chunk and returns every frame now complete (possibly none). Throws only ProtocolError. */
  push(chunk: Uint8Array): Frame[] {
    if (this.#failed) throw this.#failed;
    if (chunk.byteLength > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.byteLength;
    }
    const frames: Frame[] = [];
    while (this.#buffered >= FRAME_HEADER_SIZE) {
      const header = this.#peek(FRAME_HEADER_SIZE);
      const type = header[0] ?? 0;
      const length =
        (((header[1] ?? 0) << 24) >>> 0) + ((header[2] ?? 0) << 16) + ((header[3] ?? 0) << 8) + (header[4] ?? 0);
      if (length > this.maxFrameLength) {
        this.#failed = new ProtocolError(
          `frame ${messageTypeName(type)} length ${length} exceeds max ${this.maxFrameLength}`,
        );
        this.#chunks = [];
        this.#buffered = 0;
        throw this.#failed;
      }
      if (this.#buffered < FRAME_HEADER_SIZE + length) break;
      this.#consume(FRAME_HEADER_SIZE);
      frames.push({ type, payload: this.#consume(length) });
    }
    return frames;
  }

  /** Call when the stream ends: throws ProtocolError if a partial frame is left over. */
  end(): void {
    if (this.#failed) throw this.#failed;
    if (this.#buffered > 0) {
      const have = this.#buffered;
      const detail =
        have < FRAME_HEADER_SIZE
          ? `${have} of ${FRAME_HEADER_SIZE} header bytes`
          : `a partial ${messageTypeName(this.#peek(1)[0] ?? 0)} frame (${have} bytes buffered)`;
      this.#failed = new ProtocolError(`stream ended inside a frame: ${detail}`);
      this.#chunks = [];
      this.#buffered = 0;
      throw this.#failed;
    }
  }

  /** The first `n` buffered bytes without consuming them (copies only if they span chunks). */
  #peek(n: number): Uint8Array {
    const first = this.#chunks[0] as Uint8Array;
    if (first.byteLength - this.#offset >= n) return first.subarray(this.#offset, this.#offset + n);
    const out = new Uint8Array(n);
    let filled = 0;
    let off = this.#offset;
    for (const c of this.#chunks) {
      const take = Math.min(n - filled, c.byteLength - off);
      out.set(c.subarray(off, off + take), filled);
      filled += take;
      off = 0;
      if (filled === n) break;
    }
    return out;
  }

  /** Removes and returns the next `n` bytes: a view when they lie in one chunk, else one copy. */
  #consume(n: number): Uint8Array {
    this.#buffered -= n;
    if (n === 0) return new Uint8Array(0);
    const first = this.#chunks[0] as Uint8Array;
    const avail = first.byteLength - this.#offset;
    if (avail >= n) {
      const view = first.subarray(this.#offset, this.#offset + n);
      this.#advance(n);
      return view;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.#chunks[0] as Uint8Array;
      const take = Math.min(n - filled, c.byteLength - this.#offset);
      out.set(c.subarray(this.#offset, this.#offset + take), filled);
      filled += take;
      this.#advance(take);
    }
    return out;
  }

  #advance(n: number): void {
    this.#offset += n;
    const first = this.#chunks[0] as Uint8Array;
    if (this.#offset === first.byteLength) {
      this.#chunks.shift();
      this.#offset = 0;
    }
  }
}
