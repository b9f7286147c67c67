import type { Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ForwardSpec } from './forward-spec.ts';

/** Opens a stream to `host:port` as seen from the remote (an SSH direct-tcpip channel in production). */
export type Dialer = (host: string, port: number) => Promise<Duplex>;

/** Live counters of one forward. */
export interface ForwardStats {
  open: number;
  total: number;
  failed: number;
  bytesIn: number;
  bytesOut: number;
}

/** Hooks a TcpForward needs from its manager. */
export interface TcpForwardContext {
  /** Resolves with a dialer once connected (waits while reconnecting), or undefined after a timeout. */
  dialer(): Promise<Dialer | undefined>;
  log(level: 'warn' | 'debug', msg: string): void;
}

/**
 * One local port mirrored to one remote port: a listener per bind address; every accepted socket
 * gets its own remote stream, piped both ways with backpressure and half-close kept intact.
 */
export class TcpForward {
  readonly spec: ForwardSpec;
  readonly localPort: number;
  readonly #servers: Server[];
  readonly #ctx: TcpForwardContext;
  readonly #sockets = new Set<Socket>();
  #closedBytesIn = 0;
  #closedBytesOut = 0;
  #total = 0;
  #failed = 0;
  #lastFailureLog = 0;

  /** Wraps already-listening servers (see ForwardManager for binding). */
  constructor(spec: ForwardSpec, localPort: number, servers: Server[], ctx: TcpForwardContext) {
    this.spec = spec;
    this.localPort = localPort;
    this.#servers = servers;
    this.#ctx = ctx;
    for (const s of servers) s.on('connection', (sock: Socket) => this.#accept(sock));
  }

  /** Local addresses actually bound. */
  get addresses(): string[] {
    return this.#servers.map((s) => {
      const a = s.address();
      return typeof a === 'object' && a ? a.address : '';
    });
  }

  /** Counters, including connections still open. */
  get stats(): ForwardStats {
    let bytesIn = this.#closedBytesIn;
    let bytesOut = this.#closedBytesOut;
    for (const s of this.#sockets) {
      bytesIn += s.bytesRead;
      bytesOut += s.bytesWritten;
    }
    return { open: this.#sockets.size, total: this.#total, failed: this.#failed, bytesIn, bytesOut };
  }

  /** Stops accepting new connections; open ones finish on their own. */
  stopAccepting(): void {
    for (const s of this.#servers) s.close();
  }

  /** Stops accepting and cuts every open connection. */
  destroy(): void {
    this.stopAccepting();
    for (const s of this.#sockets) s.destroy();
  }

  async #accept(sock: Socket): Promise<void> {
    this.#total++;
    this.#sockets.add(sock);
    sock.setNoDelay(true);
    sock.on('error', () => {});
    sock.once('close', () => {
      this.#sockets.delete(sock);
      this.#closedBytesIn += sock.bytesRead;
      this.#closedBytesOut += sock.bytesWritten;
    });
    let remote: Duplex;
    try {
      const dial = await this.#ctx.dialer();
      if (!dial) throw new Error('not connected to the remote host');
      if (sock.destroyed) return;
      remote = await dial(this.spec.remoteHost, this.spec.remotePort);
    } catch (err) {
      this.#failed++;
      const now = Date.now();
      if (now - this.#lastFailureLog > 5000) {
        this.#lastFailureLog = now;
        this.#ctx.log(
          'warn',
          `localhost:${this.localPort} -> ${this.spec.remoteHost}:${this.spec.remotePort}: ${(err as Error).message}`,
        );
      }
      sock.destroy();
      return;
    }
    if (sock.destroyed) {
      remote.destroy();
      return;
    }
    pipeBoth(sock, remote);
  }
}

/**
 * Pipes a local socket and a remote stream into each other. EOF travels each way separately
 * (half-close); an error or abort on either side tears down both. A side that ended gracefully
 * is left to flush what it has, never destroyed under its pending writes.
 */
export function pipeBoth(sock: Socket, remote: Duplex): void {
  remote.on('error', () => sock.destroy());
  sock.on('error', () => remote.destroy());
  sock.pipe(remote);
  remote.pipe(sock);
  remote.once('close', () => {
    if (!sock.writableEnded) sock.destroy();
  });
  sock.once('close', () => {
    if (!remote.writableEnded || !remote.readableEnded) remote.destroy();
  });
  sock.resume();
}
