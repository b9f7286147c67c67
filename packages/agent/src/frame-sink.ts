import type { Writable } from 'node:stream';
import { encodeMessage, type Message } from '@port-linker/proto';

/**
 * The agent's only way to stdout: whole frames, one write each, with backpressure awareness.
 * `congested` turns true when the stream asked us to wait; producers that can coalesce (the watch
 * loop, logs) wait for `whenDrained()` instead of queueing more. After an error or `close()` every
 * send is dropped: a dead pipe must not crash the agent on its way out.
 */
export class FrameSink {
  readonly #out: Writable;
  #congested = false;
  #closed = false;
  #drainWaiters: Array<() => void> = [];
  #onError: (err: Error) => void;
  /** Frames and bytes written so far (for logs and tests). */
  framesWritten = 0;
  bytesWritten = 0;

  /** Writes to `out`; `onError` hears about the first write error (EPIPE: the host is gone). */
  constructor(out: Writable, onError: (err: Error) => void) {
    this.#out = out;
    this.#onError = onError;
    out.on('drain', () => this.#drained());
    out.on('error', (err) => this.#fail(err));
  }

  /** True while the stream has more buffered than its high-water mark. */
  get congested(): boolean {
    return this.#congested;
  }

  /** False once the stream failed or `close()` ran. */
  get open(): boolean {
    return !this.#closed;
  }

  /** Encodes and writes one message; returns false when dropped (closed stream). */
  send(message: Message): boolean {
    if (this.#closed) return false;
    const frame = encodeMessage(message);
    this.framesWritten++;
    this.bytesWritten += frame.byteLength;
    if (!this.#out.write(frame)) this.#congested = true;
    return true;
  }

  /** Resolves when the stream is not congested (at once if it is not). */
  whenDrained(): Promise<void> {
    if (!this.#congested || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Resolves once everything written so far reached the OS (or after `timeoutMs`). */
  flushed(timeoutMs: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#out.write(new Uint8Array(0), () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Stops writing for good. */
  close(): void {
    this.#closed = true;
    this.#drained();
  }

  #drained(): void {
    this.#congested = false;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }

  #fail(err: Error): void {
    if (this.#closed) return;
    this.close();
    this.#onError(err);
  }
}
