// Vendor patches Q3, Q6 (@matrixai/quic@2.0.9 UDP socket buffers, error descriptions): see docs/vendor-patches.md.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { Duplex } from 'node:stream';
import Logger, { LogLevel } from '@matrixai/logger';
import { QUICClient, type QUICConnection, QUICServer, type QUICStream, events as quicEvents } from '@matrixai/quic';
import { encodeMessage } from '@port-linker/proto';
import type { QuicConnector } from './negotiate.ts';
import { batchConnection, lightenConnection } from './quic-fast-path.ts';
import { certificateFingerprint, generateQuicIdentity, type QuicIdentity } from './quic-identity.ts';
import { acceptFrame, readExactly } from './tcp-transport.ts';
import { StreamTransport } from './transport.ts';
import { TransportError } from './transport-error.ts';

/** QUIC application protocol name both sides must agree on. */
export const QUIC_ALPN = 'port-linker/1';
/** CryptoError.BadCertificate of quiche: what a pin mismatch answers. */
const BAD_CERTIFICATE = 298;

/** Tuning knobs of the QUIC connection (see ARCHITECTURE.md "Transports" for the measured effect). */
export interface QuicTuning {
  /** Largest UDP payload sent (1200..65527; loopback and LANs take big ones). */
  maxSendUdpPayloadSize?: number;
  /** Largest UDP payload the peer may send us (its own maximum is the smaller of both); default: maxSend. */
  maxRecvUdpPayloadSize?: number;
  /** Connection- and stream-level flow-control windows. */
  initialMaxData?: number;
  initialMaxStreamData?: number;
  /** Upper bounds of quiche's window auto-tuning (stream, connection); @matrixai/quic 2.0.9 does not pass them on. */
  maxStreamWindow?: number;
  maxConnectionWindow?: number;
  /** Bytes the library pulls from a stream per read (its default, 4 KiB, costs one web-stream chunk per 4 KiB). */
  readableChunkSize?: number;
  /** Replace the library's per-packet receive lock with a plain mutex (see lightenConnection). */
  lightLocks?: boolean;
  /** Batch packet work per event-loop turn and send packets without per-packet events (see batchConnection). */
  batch?: boolean;
  /** SO_RCVBUF/SO_SNDBUF of the UDP socket (the kernel caps it at net.core.rmem_max/wmem_max). */
  socketBufferBytes?: number;
}

/**
 * What both sides use unless told otherwise (measured in ARCHITECTURE.md "Transports"): flow-control windows
 * well above a loopback or LAN bandwidth-delay product, 256 KiB per stream read (the library's 4 KiB costs
 * one web-stream chunk each), the light lock, batched packet work and 4 MiB socket buffers. Packet size is
 * chosen per side: see QUIC_AGENT_PACKETS and hostPackets.
 */
export const QUIC_DEFAULT_TUNING: Readonly<QuicTuning> = {
  initialMaxData: 32 << 20,
  initialMaxStreamData: 16 << 20,
  readableChunkSize: 256 << 10,
  lightLocks: true,
  batch: true,
  socketBufferBytes: 4 << 20,
};

/**
 * The agent offers to take and send packets of any size: quiche sends min(own maximum, peer's maximum to
 * receive), so the host's choice (hostPackets) decides both directions.
 */
export const QUIC_AGENT_PACKETS: Readonly<QuicTuning> = { maxSendUdpPayloadSize: 65000, maxRecvUdpPayloadSize: 65527 };

/**
 * The host's packet size: 65000 B when the agent is on a loopback address (no fragmentation there), else
 * 1350 B (the library's default: fits a 1500 B MTU with IPv6 and tunnel headers to spare; @matrixai/quic
 * does not expose quiche's path-MTU discovery, and a bigger datagram would be IP-fragmented on a network).
 */
export function hostPackets(host: string): QuicTuning {
  const loopback = isIP(host) !== 0 && (host === '::1' || host.startsWith('127.') || host === '::ffff:127.0.0.1');
  const size = loopback ? 65000 : 1350;
  return { maxSendUdpPayloadSize: size, maxRecvUdpPayloadSize: size };
}

/**
 * Raises the UDP socket's kernel buffers: at the default (212 KiB, three 64 KiB datagrams) a burst of big
 * packets overflows the receiver and quiche sees loss. `owner` is a QUICServer or QUICClient (their `socket`
 * is a QUICSocket whose `socket` is the dgram.Socket); a library without that shape is left as it is.
 * Returns whether the sizes were set (false: nothing asked, another shape, or the kernel refused).
 */
export function raiseSocketBuffers(owner: unknown, bytes: number | undefined): boolean {
  if (!bytes) return false;
  const udp = (owner as { socket?: { socket?: { setRecvBufferSize?: unknown } } }).socket?.socket as
    | { setRecvBufferSize(n: number): void; setSendBufferSize(n: number): void }
    | undefined;
  if (typeof udp?.setRecvBufferSize !== 'function') return false;
  try {
    udp.setRecvBufferSize(bytes);
    udp.setSendBufferSize(bytes);
    return true;
  } catch {
    return false; // not permitted or not bound: the defaults stay
  }
}

const quietLogger = () => new Logger('quic', LogLevel.WARN, []);

function pinConfig(identity: QuicIdentity, expect: () => Uint8Array | undefined, tuning: QuicTuning) {
  return {
    key: identity.keyPem,
    cert: identity.certPem,
    applicationProtos: [QUIC_ALPN],
    verifyPeer: true,
    maxIdleTimeout: 30_000,
    keepAliveIntervalTime: 5_000,
    // quiche sends min(own max send, peer's max recv): both must be raised for big packets to happen
    ...(tuning.maxSendUdpPayloadSize ? { maxSendUdpPayloadSize: tuning.maxSendUdpPayloadSize } : {}),
    ...(tuning.maxRecvUdpPayloadSize || tuning.maxSendUdpPayloadSize
      ? { maxRecvUdpPayloadSize: tuning.maxRecvUdpPayloadSize ?? tuning.maxSendUdpPayloadSize }
      : {}),
    ...(tuning.initialMaxData ? { initialMaxData: tuning.initialMaxData } : {}),
    ...(tuning.readableChunkSize ? { readableChunkSize: tuning.readableChunkSize } : {}),
    ...(tuning.maxStreamWindow ? { maxStreamWindow: tuning.maxStreamWindow } : {}),
    ...(tuning.maxConnectionWindow ? { maxConnectionWindow: tuning.maxConnectionWindow } : {}),
    ...(tuning.initialMaxStreamData
      ? {
          initialMaxStreamDataBidiLocal: tuning.initialMaxStreamData,
          initialMaxStreamDataBidiRemote: tuning.initialMaxStreamData,
        }
      : {}),
    verifyCallback: async (certs: Uint8Array[]) => {
      const want = expect();
      const leaf = certs[0];
      if (!want || !leaf) return BAD_CERTIFICATE;
      const got = certificateFingerprint(leaf);
      return got.length === want.length && timingSafeEqual(got, want) ? undefined : BAD_CERTIFICATE;
    },
  };
}

/**
 * Bytes a QUIC stream Duplex buffers before `write()` says wait, and past which UDP datagrams are dropped on
 * both sides (the agent's FrameSink and the host link): QUIC here moves a few MiB/s, so a deeper queue is
 * only delay (1 MiB of 64-byte datagrams was 13 s of backlog).
 */
const QUIC_STREAM_HIGH_WATER = 64 * 1024;

/**
 * A QUIC stream as a Node Duplex (the frame transports work on Node streams). Writes are coalesced: while
 * one chunk is being handed to quiche, later frames queue and go down as one chunk (`writev`), because the
 * library's cost is per write (a streamSend, an event and a packet-send pass each), not per byte.
 */
function streamDuplex(stream: QUICStream): Duplex {
  const reader = stream.readable.getReader();
  const writer = stream.writable.getWriter();
  const d = new Duplex({
    writableHighWaterMark: QUIC_STREAM_HIGH_WATER,
    read() {
      reader.read().then(
        ({ done, value }) => this.push(done ? null : value),
        (err: Error) => this.destroy(err),
      );
    },
    // one turn of the event loop before handing a chunk down: frames written meanwhile queue and follow as one
    write(chunk: Buffer, _encoding, callback) {
      setImmediate(() => writer.write(chunk).then(() => callback(), callback));
    },
    writev(chunks, callback) {
      const data = Buffer.concat(chunks.map((c) => c.chunk as Buffer));
      setImmediate(() => writer.write(data).then(() => callback(), callback));
    },
    final(callback) {
      writer.close().then(() => callback(), callback);
    },
    destroy(err, callback) {
      reader.cancel(err ?? undefined).catch(() => {});
      writer.abort(err ?? undefined).catch(() => {});
      callback(err);
    },
  });
  d.on('error', () => {}); // a reset or a destroyed connection surfaces as `close`
  return d;
}

/**
 * Agent side of the quic transport: a UDP socket with a fresh self-signed identity. It accepts
 * only a client whose certificate matches the fingerprint set by `expectClient` (delivered by the
 * host in TransportAccept over stdio); anything else fails the TLS handshake. Events: `peer`
 * (Duplex over the first bidirectional stream), `rejected` (why), `connection` (the QUICConnection, for diagnostics).
 */
export class QuicTransportServer extends EventEmitter {
  readonly identity: QuicIdentity;
  readonly #server: QUICServer;
  #client: Uint8Array | undefined;

  private constructor(server: QUICServer, identity: QuicIdentity, tuning: QuicTuning) {
    super();
    this.#server = server;
    this.identity = identity;
    server.addEventListener(quicEvents.EventQUICServerConnection.name, (evt: Event) => {
      const conn = (evt as unknown as { detail: QUICConnection }).detail;
      if (tuning.lightLocks) lightenConnection(conn);
      if (tuning.batch) batchConnection(conn);
      this.emit('connection', conn);
      let accepted = false;
      conn.addEventListener(
        quicEvents.EventQUICConnectionStream.name,
        (e: Event) => {
          accepted = true;
          this.emit('peer', streamDuplex((e as unknown as { detail: QUICStream }).detail));
        },
        { once: true },
      );
      // an error before the first stream is a refused peer (wrong certificate, ...); after it, the end of a peer
      conn.addEventListener(quicEvents.EventQUICConnectionError.name, (e: Event) => {
        if (!accepted)
          this.emit('rejected', String((e as unknown as { detail: Error }).detail?.message ?? 'connection error'));
      });
    });
  }

  /** Binds UDP on `host` port 0 with `identity`. */
  static async listen(
    identity: QuicIdentity,
    host = '127.0.0.1',
    given: QuicTuning = {},
  ): Promise<QuicTransportServer> {
    const tuning = { ...QUIC_DEFAULT_TUNING, ...QUIC_AGENT_PACKETS, ...given };
    const hmacKey = randomBytes(32);
    let self: QuicTransportServer | undefined;
    const server = new QUICServer({
      crypto: {
        key: hmacKey.buffer.slice(hmacKey.byteOffset, hmacKey.byteOffset + 32),
        ops: {
          sign: async (key: ArrayBuffer, data: ArrayBuffer) => {
            const d = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
            return d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength);
          },
          verify: async (key: ArrayBuffer, data: ArrayBuffer, sig: ArrayBuffer) => {
            const d = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
            return d.length === sig.byteLength && timingSafeEqual(d, Buffer.from(sig));
          },
        },
      },
      config: pinConfig(identity, () => self?.expected, tuning),
      logger: quietLogger(),
    });
    await server.start({ host, port: 0 });
    raiseSocketBuffers(server, tuning.socketBufferBytes);
    self = new QuicTransportServer(server, identity, tuning);
    return self;
  }

  /** The bound UDP port. */
  get port(): number {
    return this.#server.port as unknown as number;
  }

  /** The only client certificate fingerprint accepted from now on. */
  expectClient(fingerprint: Uint8Array): void {
    this.#client = fingerprint;
  }

  /** The client fingerprint currently accepted (undefined: nobody). */
  get expected(): Uint8Array | undefined {
    return this.#client;
  }

  /** Stops the server and its connections. */
  async close(): Promise<void> {
    await this.#server.stop({ force: true }).catch(() => {});
  }
}

/** Host side: what to connect to and whom to trust. */
export interface QuicConnectOptions {
  host: string;
  port: number;
  /** The agent's certificate fingerprint from its TransportOffer. */
  fingerprint: Uint8Array;
  /** The host's own identity (its fingerprint went to the agent in TransportAccept). */
  identity: QuicIdentity;
  timeoutMs: number;
  tuning?: QuicTuning;
  /** Diagnostics (bench): the established connection. */
  onConnection?: (conn: QUICConnection) => void;
}

/**
 * Host side of the quic transport: connects, pins the agent's certificate (a mismatch fails the
 * handshake: TransportError "certificate ... does not match"), opens one stream, announces itself
 * with a Ping frame and waits for the agent's accept frame. The agent learns which certificate to take from
 * the TransportAccept the host sent over stdio just before, which travels apart from the handshake: a
 * handshake that gets there first is refused (bad certificate) and is tried again, while `timeoutMs` lasts.
 */
export async function connectQuicTransport(o: QuicConnectOptions): Promise<StreamTransport> {
  const deadline = performance.now() + o.timeoutMs;
  for (let pause = 25; ; pause *= 2) {
    try {
      return await connectQuicOnce({ ...o, timeoutMs: Math.max(1, Math.round(deadline - performance.now())) });
    } catch (err) {
      const early = (err as Error).message.endsWith(`Peer closed with transport code ${BAD_CERTIFICATE}`);
      if (!early || performance.now() + pause >= deadline) throw err;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

async function connectQuicOnce(o: QuicConnectOptions): Promise<StreamTransport> {
  let mismatch = false;
  const tuning = { ...QUIC_DEFAULT_TUNING, ...hostPackets(o.host), ...o.tuning };
  const config = pinConfig(o.identity, () => o.fingerprint, tuning);
  const verify = config.verifyCallback;
  config.verifyCallback = async (certs) => {
    const r = await verify(certs);
    if (r !== undefined) mismatch = true;
    return r;
  };
  let client: QUICClient;
  try {
    client = await QUICClient.createQUICClient(
      {
        host: o.host,
        port: o.port,
        crypto: { ops: { randomBytes: async (b: ArrayBuffer) => void randomBytes(b.byteLength).copy(Buffer.from(b)) } },
        config,
        logger: quietLogger(),
      },
      { timer: o.timeoutMs },
    );
  } catch (cause) {
    if (mismatch)
      throw new TransportError(
        'quic',
        "the agent's certificate does not match the fingerprint it offered over SSH: refused",
        { cause },
      );
    // the library's errors carry their text in a static `description`, with an empty message (vendor patch Q6)
    const why =
      (cause as Error).message ||
      ((cause as { constructor?: { description?: unknown } }).constructor?.description as string | undefined) ||
      String(cause);
    const hint = /timeout/i.test(why) ? `, no answer in ${o.timeoutMs} ms: is UDP blocked on the way?` : '';
    throw new TransportError('quic', `cannot connect to udp port ${o.port} of ${o.host}: ${why}${hint}`, { cause });
  }
  if (tuning.lightLocks) lightenConnection(client.connection);
  if (tuning.batch) batchConnection(client.connection);
  raiseSocketBuffers(client, tuning.socketBufferBytes);
  o.onConnection?.(client.connection);
  const stream = streamDuplex(client.connection.newStream('bidi'));
  stream.write(encodeMessage({ type: 'Ping', value: 0n }));
  const expected = Buffer.from(acceptFrame('quic'));
  const got = await readExactly(stream, expected.length, o.timeoutMs, 'quic').catch(async (err) => {
    await client.destroy({ force: true }).catch(() => {});
    throw err;
  });
  if (!got.subarray(0, expected.length).equals(expected)) {
    await client.destroy({ force: true }).catch(() => {});
    throw new TransportError('quic', 'the agent did not answer with its accept frame');
  }
  const transport = new StreamTransport('quic', stream, stream, got.subarray(expected.length), QUIC_STREAM_HIGH_WATER);
  transport.once('close', () => void client.destroy({ force: true }).catch(() => {}));
  return transport;
}

/** The host's QuicConnector for negotiateTransport: a fresh identity, connecting to `host` (the remote's address). */
export async function quicConnector(host: string, tuning?: QuicTuning): Promise<QuicConnector> {
  const identity = await generateQuicIdentity('port-linker-host');
  return {
    fingerprint: identity.fingerprint,
    connect: (port, fingerprint, timeoutMs) =>
      connectQuicTransport({ host, port, fingerprint, identity, timeoutMs, ...(tuning ? { tuning } : {}) }),
  };
}

/**
 * The agent's QUIC loader: a fresh identity and a server on `host`. By default all interfaces of both families
 * (`::` dual-stack, so a host that reached sshd over IPv6 reaches QUIC the same way), or all IPv4 ones where the
 * remote has no IPv6 (the bind of `::` fails there).
 */
export async function listenQuic(host?: string, tuning?: QuicTuning): Promise<QuicTransportServer> {
  const identity = await generateQuicIdentity('port-linker-agent');
  if (host !== undefined) return QuicTransportServer.listen(identity, host, tuning);
  try {
    return await QuicTransportServer.listen(identity, '::', tuning);
  } catch {
    return QuicTransportServer.listen(identity, '0.0.0.0', tuning);
  }
}
