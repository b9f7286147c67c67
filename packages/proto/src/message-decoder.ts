import { FrameDecoder, type FrameDecoderOptions } from './frame-decoder.ts';
import { decodeMessage, type Message, type UnknownMessage } from './messages.ts';

/**
 * Stream of bytes in, typed messages out. Unknown frame types (sane length) come back as
 * UnknownMessage so the caller can log and skip them; anything malformed throws ProtocolError.
 */
export class MessageDecoder {
  readonly #frames: FrameDecoder;

  /** Creates a decoder with the frame length bound of `options`. */
  constructor(options: FrameDecoderOptions = {}) {
    this.#frames = new FrameDecoder(options);
  }

  /** Bytes buffered toward the next frame. */
  get bufferedBytes(): number {
    return this.#frames.bufferedBytes;
  }

  /** Appends a chunk; returns the messages it completed. */
  push(chunk: Uint8Array): Array<Message | UnknownMessage> {
    return this.#frames.push(chunk).map((f) => decodeMessage(f.type, f.payload));
  }

  /** Stream closed: throws ProtocolError if it stopped inside a frame. */
  end(): void {
    this.#frames.end();
  }
}
