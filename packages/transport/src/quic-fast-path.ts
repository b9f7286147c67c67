// Vendor patches Q1, Q2, Q5 (@matrixai/quic@2.0.9 connection internals, event names): see docs/vendor-patches.md.
// Trims @matrixai/quic's per-packet JavaScript work from outside, on one QUICConnection at a time. Written
// for @matrixai/quic 2.0.9 (dist/QUICConnection.js); each patch checks the internals it relies on and leaves
// the stock path in place when the library has another shape. See ARCHITECTURE.md "Transports" (quic).
import { type QUICConnection, errors as quicErrors, events as quicEvents } from '@matrixai/quic';

/** The library version these patches were written against (they check shapes, not this string). */
export const QUIC_FAST_PATH_FOR = '@matrixai/quic 2.0.9';

/**
 * Swaps the connection's receive lock (an @matrixai/async-locks Lock: every acquisition builds a
 * Timer, AbortSignals and a timeout error with a captured stack, ~20% of the CPU per packet) for a
 * plain promise-chain mutex with the same mutual exclusion. The first holder waits for the old lock.
 * Returns false (nothing changed) when the connection has no such lock.
 */
export function lightenConnection(conn: QUICConnection): boolean {
  const c = conn as unknown as {
    recvLock?: { withF: (f: () => Promise<unknown>) => Promise<unknown>; waitForUnlock?: () => Promise<void> };
  };
  const old = c.recvLock;
  if (typeof old?.withF !== 'function') return false;
  let tail: Promise<unknown> = old.waitForUnlock
    ? Promise.resolve(old.waitForUnlock()).catch(() => {})
    : Promise.resolve();
  c.recvLock = {
    withF(...args: unknown[]) {
      const f = args[args.length - 1] as () => Promise<unknown>;
      const run = tail.then(() => f());
      tail = run.catch(() => {});
      return run;
    },
  };
  return true;
}

interface HostPort {
  host: string;
  port: number;
}
interface NativeConnection {
  recv(data: Uint8Array, info: { to: HostPort; from: HostPort }): number;
  send(buf: Uint8Array): [number, { to: HostPort }] | null;
  isDraining(): boolean;
  isClosed(): boolean;
  localError(): unknown;
  peerError(): unknown;
}
interface UdpSocket {
  send(msg: Uint8Array, port: number, host: string, cb: (err: Error | null) => void): void;
}
interface ConnectionInternals {
  conn: NativeConnection;
  config: { maxSendUdpPayloadSize: number };
  secureEstablished: boolean;
  sendId: string;
  socket: { socket?: UdpSocket };
  localHost: string;
  localPort: number;
  streamMap: Map<number, EventTarget>;
  _remoteHost: string;
  _remotePort: number;
  recv(data: Uint8Array, remote: HostPort): Promise<void>;
  send(): Promise<void>;
  processStreams(): void;
  setConnTimeoutTimer(): void;
  handleEventQUICStreamSend: () => Promise<void>;
  dispatchEvent(e: Event): boolean;
}

const batched = new WeakSet<object>();

/** Whether batchConnection took over this connection (false: the library's stock path runs it). */
export function isBatched(conn: QUICConnection): boolean {
  return batched.has(conn);
}

/** Bytes carved into outgoing packets before a fresh buffer is taken (one allocation per ~4-190 packets). */
const SLAB_BYTES = 256 * 1024;

/**
 * Batches the connection's packet work per event-loop turn once it is securely established:
 * - `recv` hands the datagram to quiche and schedules one flush (setImmediate) instead of running
 *   processStreams and a send pass per datagram; libuv delivers up to 32 datagrams per poll, so the
 *   peer gets one ACK per batch instead of one per packet, and the ACKs a sender gets free its
 *   congestion window in bigger steps (bigger packets: the library can only queue as much stream data
 *   as the window has room for);
 * - a stream asking to send (`EventQUICStreamSend`, per write and per read) schedules the same flush;
 * - the send pass writes packets into shared slabs and hands them straight to the dgram socket, with
 *   no event, promise and 64 KiB allocation per packet; a failed datagram goes through the library's
 *   own send event (its error handling).
 * Anything else (handshake, draining, closed, a peer error) takes the library's own path.
 * Returns false when the connection does not have the expected shape (nothing was changed).
 */
export function batchConnection(conn: QUICConnection): boolean {
  const c = conn as unknown as ConnectionInternals;
  if (batched.has(conn)) return true;
  const native = c.conn;
  const udp = c.socket?.socket;
  if (
    typeof native?.recv !== 'function' ||
    typeof native.send !== 'function' ||
    typeof udp?.send !== 'function' ||
    typeof c.processStreams !== 'function' ||
    typeof c.setConnTimeoutTimer !== 'function' ||
    typeof c.handleEventQUICStreamSend !== 'function' ||
    !(c.streamMap instanceof Map) ||
    typeof c.secureEstablished !== 'boolean' ||
    !(c.config?.maxSendUdpPayloadSize > 0)
  )
    return false;
  const stockRecv = c.recv;
  const stockSend = c.send;
  const stockStreamSend = c.handleEventQUICStreamSend;
  const fast = () => c.secureEstablished && !native.isDraining() && !native.isClosed();
  let local: HostPort | undefined;
  let scheduled = false;
  let slab = Buffer.allocUnsafe(0);
  let used = 0;

  const internal = (message: string, cause: unknown) => {
    const e = new quicErrors.ErrorQUICConnectionInternal(message, { cause });
    c.dispatchEvent(new quicEvents.EventQUICConnectionError({ detail: e }));
  };

  const sendPass = (): Promise<void> => {
    if (!fast()) return stockSend.call(c);
    const max = c.config.maxSendUdpPayloadSize;
    for (;;) {
      if (slab.length - used < max) {
        slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, max));
        used = 0;
      }
      let result: ReturnType<NativeConnection['send']>;
      try {
        result = native.send(slab.subarray(used, used + max));
      } catch (cause) {
        internal('Failed connection send with unknown internal error', cause);
        return Promise.resolve();
      }
      if (result === null) break;
      const msg = slab.subarray(used, used + result[0]);
      used += (result[0] + 7) & ~7;
      const { port, host } = result[1].to;
      udp.send(msg, port, host, (err) => {
        // the library's handler sends it again and, if that fails too, handles the error its way
        if (err)
          c.dispatchEvent(
            new quicEvents.EventQUICConnectionSend({ detail: { id: c.sendId, msg, port, address: host } }),
          );
      });
    }
    c.setConnTimeoutTimer();
    // a peer's CONNECTION_CLOSE: the stock pass finds nothing to send and raises the library's events
    return native.peerError() != null ? stockSend.call(c) : Promise.resolve();
  };

  const flush = () => {
    scheduled = false;
    if (native.isClosed()) return; // the library's own timer settles a closed connection
    if (!fast()) {
      // draining or a stopped connection: the stock pass (its ready-check may refuse, synchronously or not)
      try {
        stockSend.call(c).catch(() => {});
      } catch {}
      return;
    }
    try {
      c.processStreams();
    } catch (cause) {
      internal('Failed to process streams', cause);
      return;
    }
    void sendPass();
  };
  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  c.send = sendPass;
  c.recv = function recv(data: Uint8Array, remote: HostPort): Promise<void> {
    if (!fast()) return stockRecv.call(c, data, remote);
    local ??= { host: c.localHost, port: c.localPort };
    try {
      native.recv(data, { to: local, from: { host: remote.host, port: remote.port } });
    } catch (cause) {
      if (native.localError() == null) {
        internal('Failed connection recv due with unknown error', cause);
      } else {
        const e = new quicErrors.ErrorQUICConnectionLocal('Failed connection due to local error', {
          cause,
          data: native.localError() as never,
        });
        c.dispatchEvent(new quicEvents.EventQUICConnectionError({ detail: e }));
      }
      return Promise.resolve();
    }
    c._remoteHost = remote.host;
    c._remotePort = remote.port;
    schedule();
    return Promise.resolve();
  };
  const streamSend = async () => {
    if (fast()) schedule();
    else await stockStreamSend();
  };
  // streams register the handler when they are created: move the existing ones over too
  for (const stream of c.streamMap.values()) {
    stream.removeEventListener(quicEvents.EventQUICStreamSend.name, stockStreamSend);
    stream.addEventListener(quicEvents.EventQUICStreamSend.name, streamSend);
  }
  c.handleEventQUICStreamSend = streamSend;
  batched.add(conn);
  return true;
}
