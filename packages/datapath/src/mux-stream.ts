import { Duplex } from 'node:stream';
import { MUX_MAX_DATA } from '@port-linker/proto';

/** What a stream needs from its session. */
export interface StreamLink {
  /** Sends one DATA frame; false when the connection's socket is backed up. */
  sendData(id: number, chunk: Uint8Array): boolean;
  sendEnd(id: number): void;
  sendReset(id: number, reason: string): void;
  sendWindow(id: number, bytes: number): void;
  /** Calls `fn` once the socket drained. */
  onDrain(fn: () => void): void;
  forget(id: number): void;
  readonly closed: boolean;
}

/**
 * One forwarded TCP connection inside a MuxSession: a Duplex whose writes become DATA frames within the peer's
 * credit (a write beyond it waits for WINDOW), whose reads come from the peer's DATA, with END as half-close and
 * RESET as abort. Credit is granted back as the consumer keeps up, so a slow reader stops its sender only.
 */
export class MuxStream extends Duplex {
  readonly id: number;
  readonly #link: StreamLink;
  readonly #window: number;
  #credit: number;
  #unacked = 0;
  #blocked = false;
  #pending: { chunk: Uint8Array; cb: (err?: Error | null) => void } | undefined;
  #endSent = false;
  #endReceived = false;
  #resetReceived = false;

  constructor(link: StreamLink, id: number, window: number) {
    super({ allowHalfOpen: true });
    this.#link = link;
    this.id = id;
    this.#window = window;
    this.#credit = window;
  }

  /** DATA from the peer. */
  receive(chunk: Uint8Array): void {
    if (this.#endReceived || this.destroyed) return;
    this.#unacked += chunk.byteLength;
    const ok = this.push(chunk);
    if (!ok) this.#blocked = true;
    else if (this.#unacked >= this.#window / 4) this.#grant();
  }

  /** END from the peer. */
  receiveEnd(): void {
    if (this.#endReceived) return;
    this.#endReceived = true;
    this.push(null);
  }

  /** RESET from the peer (or the connection's loss). */
  receiveReset(reason: string): void {
    this.#resetReceived = true;
    this.destroy(new Error(reason || 'connection reset by the remote end'));
  }

  /** WINDOW from the peer. */
  receiveWindow(bytes: number): void {
    this.#credit += bytes;
    const p = this.#pending;
    if (p && this.#credit > 0) {
      this.#pending = undefined;
      this.#send(p.chunk, p.cb);
    }
  }

  override _read(): void {
    if (this.#blocked || this.#unacked > 0) {
      this.#blocked = false;
      this.#grant();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.#link.closed) {
      cb(new Error('the direct data path closed'));
      return;
    }
    this.#send(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.#link.closed) this.#link.sendEnd(this.id);
    this.#endSent = true;
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#pending = undefined;
    if (!this.#resetReceived && !(this.#endSent && this.#endReceived) && !this.#link.closed)
      this.#link.sendReset(this.id, err?.message ?? 'closed');
    this.#link.forget(this.id);
    cb(err);
  }

  #grant(): void {
    if (this.#unacked === 0 || this.#link.closed || this.#endReceived) return;
    this.#link.sendWindow(this.id, this.#unacked);
    this.#unacked = 0;
  }

  #send(chunk: Uint8Array, cb: (err?: Error | null) => void): void {
    let rest = chunk;
    let flowing = true;
    while (rest.byteLength > 0 && this.#credit > 0) {
      const n = Math.min(rest.byteLength, this.#credit, MUX_MAX_DATA);
      flowing = this.#link.sendData(this.id, n === rest.byteLength ? rest : rest.subarray(0, n));
      this.#credit -= n;
      rest = rest.subarray(n);
    }
    if (rest.byteLength > 0) {
      this.#pending = { chunk: rest, cb };
      return;
    }
    if (flowing) cb();
    else this.#link.onDrain(() => cb());
  }
}
