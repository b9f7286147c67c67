import { randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { encodeMessage } from '@port-linker/proto';
import { StreamTransport } from './transport.ts';
import { TransportError } from './transport-error.ts';

/** Length of the tcp session secret (random bytes, offered over the authenticated stdio channel). */
export const TCP_SECRET_BYTES = 32;
/** How long a tcp peer has to present the secret before it is dropped. */
export const TCP_AUTH_TIMEOUT_MS = 5000;

/** The frame the agent writes first on a transport it accepted: proof for the host that the agent is there. */
export function acceptFrame(kind: 'tcp' | 'quic'): Uint8Array {
  return encodeMessage({ type: 'TransportAccept', kind, data: new Uint8Array(0) });
}

/**
 * Agent side of the tcp transport: a listener on loopback (port 0) and a fresh random secret. A
 * peer must send exactly the secret first, within TCP_AUTH_TIMEOUT_MS (compared in constant time once all of it
 * is in, never a prefix at a time); anyone else (another local user of the remote probing the port) is dropped
 * and reported with `rejected`. Events: `peer`
 * (socket, authenticated, secret consumed), `rejected` (why: string).
 */
export class TcpTransportServer extends EventEmitter {
  readonly secret: Uint8Array = randomBytes(TCP_SECRET_BYTES);
  readonly #server: Server;
  readonly #pending = new Set<Socket>();

  private constructor(server: Server) {
    super();
    this.#server = server;
    server.on('connection', (socket) => this.#onConnection(socket));
  }

  /** Listens on `host` (default 127.0.0.1), port 0. */
  static async listen(host = '127.0.0.1'): Promise<TcpTransportServer> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new TcpTransportServer(server);
  }

  /** The bound port. */
  get port(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  /** Stops listening and drops unauthenticated peers (authenticated ones belong to their owner). */
  close(): void {
    this.#server.close();
    for (const s of this.#pending) s.destroy();
    this.#pending.clear();
  }

  #onConnection(socket: Socket): void {
    this.#pending.add(socket);
    socket.setNoDelay(true);
    let got = Buffer.alloc(0);
    const drop = (why: string) => {
      cleanup();
      socket.destroy();
      this.emit('rejected', why);
    };
    const timer = setTimeout(() => drop(`no secret within ${TCP_AUTH_TIMEOUT_MS} ms`), TCP_AUTH_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      // nothing is compared before the whole secret is in: a peer dropped at a wrong first byte and kept at a
      // right one would learn the secret a byte at a time (at most 256 guesses per byte)
      if (got.length < TCP_SECRET_BYTES) return;
      const ok = timingSafeEqual(got.subarray(0, TCP_SECRET_BYTES), this.secret);
      if (!ok) return drop('wrong secret');
      cleanup();
      const rest = got.subarray(TCP_SECRET_BYTES);
      if (rest.length) socket.unshift(rest);
      this.emit('peer', socket);
    };
    const onClose = () => {
      cleanup();
    };
    const cleanup = () => {
      clearTimeout(timer);
      this.#pending.delete(socket);
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', () => {});
  }
}

/**
 * Host side of the tcp transport: presents `secret` on `stream` (a direct-tcpip channel to the
 * agent's port) and waits for the agent's accept frame. Rejects with TransportError after
 * `timeoutMs` or when the stream closes first.
 */
export async function connectTcpTransport(
  stream: Duplex,
  secret: Uint8Array,
  timeoutMs: number,
): Promise<StreamTransport> {
  const expected = Buffer.from(acceptFrame('tcp'));
  stream.write(secret);
  const leftover = await readExactly(stream, expected.length, timeoutMs, 'tcp').catch((err) => {
    stream.destroy();
    throw err;
  });
  if (!leftover.subarray(0, expected.length).equals(expected)) {
    stream.destroy();
    throw new TransportError('tcp', 'the agent answered the tcp secret with something other than its accept frame');
  }
  return new StreamTransport('tcp', stream, stream, leftover.subarray(expected.length));
}

/** Reads at least `n` bytes from `stream` (paused afterwards), or rejects after `timeoutMs`. */
export function readExactly(stream: Duplex, n: number, timeoutMs: number, kind: 'tcp' | 'quic'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('close', onClose);
      stream.off('error', onError);
      if (err) reject(err);
      else {
        stream.pause();
        resolve(got);
      }
    };
    const timer = setTimeout(
      () => finish(new TransportError(kind, `no answer from the agent within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= n) finish();
    };
    const onClose = () =>
      finish(new TransportError(kind, 'the agent closed the connection (wrong secret or certificate?)'));
    const onError = (err: Error) => finish(new TransportError(kind, `connection failed: ${err.message}`));
    stream.on('data', onData);
    stream.on('close', onClose);
    stream.on('error', onError);
  });
}
