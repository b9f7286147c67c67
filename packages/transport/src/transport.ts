import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { TransportName } from '@port-linker/proto';

/** Counters every transport keeps. */
export interface TransportStats {
  bytesIn: number;
  bytesOut: number;
  framesOut: number;
}

/**
 * One channel that carries protocol frames between host and agent. Events: `data` (chunk:
 * Uint8Array, frame bytes in order, not aligned to frames: feed a MessageDecoder), `drain`
 * (buffered bytes fell below the high-water mark), `close` (reason: string, once).
 */
export interface Transport extends EventEmitter {
  readonly kind: TransportName;
  /** Queues one encoded frame; false when the outbound buffer is past its high-water mark. */
  send(frame: Uint8Array): boolean;
  /** Outbound bytes not yet handed to the OS. */
  readonly bufferedBytes: number;
  /**
   * Queued bytes past which droppable traffic (UDP) should be dropped rather than queued, when this channel
   * needs a bound of its own (a slow one: 1 MiB of queue on QUIC is seconds of delay); else the link's default.
   */
  readonly congestionBytes?: number;
  /** Closes the channel; emits `close` once. */
  close(reason?: string): void;
  /** Counters so far. */
  stats(): TransportStats;
}

/** A transport over a byte stream pair: the SSH exec channel (stdio) or a direct-tcpip/TCP socket (tcp). */
export class StreamTransport extends EventEmitter implements Transport {
  readonly kind: TransportName;
  readonly congestionBytes?: number;
  readonly #in: Readable;
  readonly #out: Writable;
  readonly #stats: TransportStats = { bytesIn: 0, bytesOut: 0, framesOut: 0 };
  #closed = false;

  /**
   * Wraps `input`/`output` (the same Duplex twice for sockets); `leftover` are bytes already read past a
   * handshake; `congestionBytes`: see Transport.
   */
  constructor(kind: TransportName, input: Readable, output: Writable, leftover?: Uint8Array, congestionBytes?: number) {
    super();
    this.kind = kind;
    if (congestionBytes !== undefined) this.congestionBytes = congestionBytes;
    this.#in = input;
    this.#out = output;
    // nothing flows until someone listens: bytes read past a handshake must not be emitted into the void
    const start = (event: string | symbol) => {
      if (event !== 'data') return;
      this.off('newListener', start);
      if (leftover?.byteLength) queueMicrotask(() => this.#data(leftover));
      input.on('data', (chunk: Buffer) => this.#data(chunk));
      input.resume(); // a handshake may have paused it
    };
    this.on('newListener', start);
    input.on('end', () => this.close(`${kind} stream ended`));
    input.on('close', () => this.close(`${kind} stream closed`));
    input.on('error', (err: Error) => this.close(`${kind} stream failed: ${err.message}`));
    if (output !== (input as unknown))
      output.on('error', (err: Error) => this.close(`${kind} write failed: ${err.message}`));
    output.on('drain', () => this.emit('drain'));
  }

  get bufferedBytes(): number {
    return this.#out.writableLength;
  }

  send(frame: Uint8Array): boolean {
    if (this.#closed) return false;
    this.#stats.bytesOut += frame.byteLength;
    this.#stats.framesOut++;
    return this.#out.write(frame);
  }

  close(reason = 'closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    const destroy = (s: Readable | Writable) => (s as { destroy?: () => void }).destroy?.();
    destroy(this.#in);
    if (this.#out !== (this.#in as unknown)) this.#out.end();
    this.emit('close', reason);
  }

  stats(): TransportStats {
    return { ...this.#stats };
  }

  #data(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.#stats.bytesIn += chunk.byteLength;
    this.emit('data', chunk);
  }
}
