import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  MuxFrame,
  type MuxFrameType,
  MuxParser,
  muxControl,
  muxHeader,
  muxOpenPayload,
  readMuxOpen,
  u32Payload,
} from '@port-linker/proto';
import { MuxStream, type StreamLink } from './mux-stream.ts';

/** Credit each side starts a stream with (bytes in flight per stream before a WINDOW). */
export const DEFAULT_STREAM_WINDOW = 2 * 1024 * 1024;

/**
 * Bytes queued on the connection's socket before stream writes wait for 'drain'. Above the socket's own 16 KiB mark:
 * a 64 KiB local read must not stop its stream at every write while the kernel buffers are far from full.
 */
const SOCKET_QUEUE_LIMIT = 1024 * 1024;

/** Events of a session. */
export interface MuxSessionEvents {
  /** Server side: the peer asked for `host:port` (the stream may carry DATA already). */
  stream: [stream: MuxStream, host: string, port: number];
  /** The underlying connection is gone; every stream was destroyed. */
  close: [reason: string];
}

/**
 * Many byte streams over one connection (a TLS socket in production): the frames of `@port-linker/proto`'s
 * mux-frame.ts, one socket write per frame and the socket corked until setImmediate so that an event-loop turn's
 * frames leave in one write. The client side opens streams; the server side gets a `stream` event.
 */
export class MuxSession extends EventEmitter<MuxSessionEvents> implements StreamLink {
  readonly #socket: Duplex;
  readonly #role: 'client' | 'server';
  readonly #window: number;
  readonly #streams = new Map<number, MuxStream>();
  readonly #parser: MuxParser;
  readonly #pings = new Map<bigint, (rtt: number) => void>();
  #nextId = 1;
  #pingSeq = 1n;
  #corked = false;
  #closed = false;
  #drainWaiters: (() => void)[] = [];
  #receivedAt = performance.now();

  constructor(socket: Duplex, role: 'client' | 'server', window = DEFAULT_STREAM_WINDOW) {
    super();
    this.#socket = socket;
    this.#role = role;
    this.#window = window;
    this.#parser = new MuxParser({
      data: (id, chunk) => this.#streams.get(id)?.receive(chunk),
      control: (type, id, payload) => this.#control(type, id, payload),
    });
    socket.on('data', (chunk: Buffer) => {
      this.#receivedAt = performance.now();
      try {
        this.#parser.push(chunk);
      } catch (err) {
        this.#shutdown(`protocol error from the peer: ${(err as Error).message}`);
      }
    });
    socket.on('drain', () => {
      if (this.#drainWaiters.length === 0) return;
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const fn of waiters) fn();
    });
    socket.on('error', (err: Error) => this.#shutdown(err.message));
    socket.on('close', () => this.#shutdown('connection closed'));
    socket.on('end', () => this.#shutdown('connection ended by the peer'));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** How long nothing has come from the peer, ms. */
  get silentMs(): number {
    return performance.now() - this.#receivedAt;
  }

  /** Streams open now. */
  get size(): number {
    return this.#streams.size;
  }

  /** Client side: a new stream to `host:port` as seen from the peer. Usable at once (writes are sent in order). */
  open(host: string, port: number): MuxStream {
    if (this.#role !== 'client') throw new Error('only the client side opens streams');
    if (this.#closed) throw new Error('the direct data path is closed');
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1;
    const stream = new MuxStream(this, id, this.#window);
    this.#streams.set(id, stream);
    this.#write(muxControl(MuxFrame.Open, id, muxOpenPayload(host, port)));
    return stream;
  }

  /** Round trip of a PING in ms, or undefined when no PONG came within `timeoutMs` (or the session closed). */
  ping(timeoutMs: number): Promise<number | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    const value = this.#pingSeq++;
    const payload = new Uint8Array(8);
    new DataView(payload.buffer).setBigUint64(0, value);
    const started = performance.now();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pings.delete(value);
        resolve(undefined);
      }, timeoutMs);
      this.#pings.set(value, (at) => {
        clearTimeout(timer);
        resolve(at - started);
      });
      this.#write(muxControl(MuxFrame.Ping, 0, payload));
    });
  }

  /** Closes the connection and every stream on it. */
  close(): void {
    this.#shutdown('closed');
    this.#socket.destroy();
  }

  sendData(id: number, chunk: Uint8Array): boolean {
    this.#write(muxHeader(MuxFrame.Data, id, chunk.byteLength));
    this.#write(chunk);
    return this.#socket.writableLength < SOCKET_QUEUE_LIMIT;
  }

  sendEnd(id: number): void {
    this.#write(muxControl(MuxFrame.End, id));
  }

  sendReset(id: number, reason: string): void {
    this.#write(muxControl(MuxFrame.Reset, id, new TextEncoder().encode(reason.slice(0, 200))));
  }

  sendWindow(id: number, bytes: number): void {
    this.#write(muxControl(MuxFrame.Window, id, u32Payload(bytes)));
  }

  onDrain(fn: () => void): void {
    if (this.#closed) fn();
    else this.#drainWaiters.push(fn);
  }

  forget(id: number): void {
    this.#streams.delete(id);
  }

  readonly #uncork = () => {
    this.#corked = false;
    this.#socket.uncork();
  };

  #write(buf: Uint8Array): boolean {
    if (this.#closed) return true;
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      setImmediate(this.#uncork);
    }
    return this.#socket.write(buf);
  }

  #control(type: MuxFrameType, id: number, payload: Uint8Array): void {
    switch (type) {
      case MuxFrame.Open: {
        if (this.#role !== 'server' || this.#streams.has(id) || id === 0) throw new Error(`unexpected OPEN ${id}`);
        const { host, port } = readMuxOpen(payload);
        const stream = new MuxStream(this, id, this.#window);
        this.#streams.set(id, stream);
        this.emit('stream', stream, host, port);
        return;
      }
      case MuxFrame.End:
        this.#streams.get(id)?.receiveEnd();
        return;
      case MuxFrame.Reset:
        this.#streams.get(id)?.receiveReset(new TextDecoder().decode(payload));
        return;
      case MuxFrame.Window: {
        if (payload.byteLength !== 4) throw new Error('WINDOW: bad length');
        this.#streams.get(id)?.receiveWindow(new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0));
        return;
      }
      case MuxFrame.Ping:
        if (payload.byteLength !== 8) throw new Error('PING: bad length');
        this.#write(muxControl(MuxFrame.Pong, 0, payload));
        return;
      case MuxFrame.Pong: {
        if (payload.byteLength !== 8) throw new Error('PONG: bad length');
        const value = new DataView(payload.buffer, payload.byteOffset, 8).getBigUint64(0);
        const done = this.#pings.get(value);
        this.#pings.delete(value);
        done?.(performance.now());
        return;
      }
      case MuxFrame.Data:
        return; // delivered by the parser's data handler
    }
  }

  #shutdown(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    const err = new Error(`the direct data path closed: ${reason}`);
    for (const s of [...this.#streams.values()]) s.destroy(err);
    this.#streams.clear();
    for (const fn of this.#drainWaiters) fn();
    this.#drainWaiters = [];
    this.#socket.destroy();
    this.emit('close', reason);
  }
}
