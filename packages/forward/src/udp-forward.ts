import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { MessageOf } from '@port-linker/proto';
import type { ForwardSpec } from './forward-spec.ts';

/** Sends a UdpPacket toward the agent; returns false when the datagram was dropped (no link, or link congested). */
export type UdpSend = (packet: MessageOf<'UdpPacket'>) => boolean;

/** Live counters of a UDP forward. */
export interface UdpStats {
  clients: number;
  datagramsIn: number;
  datagramsOut: number;
  bytesIn: number;
  bytesOut: number;
  dropped: number;
}

interface Client {
  id: number;
  socket: Socket;
  address: string;
  port: number;
  lastSeen: number;
}

let nextId = 1;

/**
 * One local UDP port mirrored to one remote UDP port. Each local client (address, port) gets a
 * 32-bit id; datagrams travel as UdpPacket frames tagged with it, and replies come back to exactly
 * that client. Mappings idle for `idleMs` expire, so the table never grows without bound.
 */
export class UdpForward {
  readonly spec: ForwardSpec;
  readonly localPort: number;
  readonly #sockets: Socket[];
  readonly #send: () => UdpSend | undefined;
  readonly #byKey = new Map<string, Client>();
  readonly #byId = new Map<number, Client>();
  readonly #idleMs: number;
  readonly #sweep: NodeJS.Timeout;
  #stats: Omit<UdpStats, 'clients'> = { datagramsIn: 0, datagramsOut: 0, bytesIn: 0, bytesOut: 0, dropped: 0 };

  /** Wraps bound sockets; `send` gives the current link (undefined while reconnecting). */
  constructor(
    spec: ForwardSpec,
    localPort: number,
    sockets: Socket[],
    send: () => UdpSend | undefined,
    idleMs = 60_000,
  ) {
    this.spec = spec;
    this.localPort = localPort;
    this.#sockets = sockets;
    this.#send = send;
    this.#idleMs = idleMs;
    for (const s of sockets) s.on('message', (msg, rinfo) => this.#fromClient(s, msg, rinfo));
    this.#sweep = setInterval(() => this.expire(Date.now()), Math.min(10_000, idleMs));
    this.#sweep.unref();
  }

  /** Local addresses bound. */
  get addresses(): string[] {
    return this.#sockets.map((s) => s.address().address);
  }

  /** Counters. */
  get stats(): UdpStats {
    return { clients: this.#byId.size, ...this.#stats };
  }

  /** Whether a reply id belongs to this forward. */
  owns(id: number): boolean {
    return this.#byId.has(id);
  }

  /** Delivers a reply from the agent to the client that owns `packet.id`; unknown ids are dropped. */
  deliver(packet: MessageOf<'UdpPacket'>): void {
    const c = this.#byId.get(packet.id);
    if (!c) {
      this.#stats.dropped++;
      return;
    }
    c.lastSeen = Date.now();
    this.#stats.datagramsOut++;
    this.#stats.bytesOut += packet.data.byteLength;
    c.socket.send(packet.data, c.port, c.address);
  }

  /** Forgets clients idle since before `now - idleMs`. */
  expire(now: number): void {
    for (const [key, c] of this.#byKey) {
      if (now - c.lastSeen > this.#idleMs) {
        this.#byKey.delete(key);
        this.#byId.delete(c.id);
      }
    }
  }

  /** Closes the sockets. */
  close(): void {
    clearInterval(this.#sweep);
    for (const s of this.#sockets) s.close();
  }

  #fromClient(socket: Socket, msg: Buffer, rinfo: RemoteInfo): void {
    const key = `${rinfo.address}|${rinfo.port}`;
    let c = this.#byKey.get(key);
    if (!c) {
      c = { id: nextId, socket, address: rinfo.address, port: rinfo.port, lastSeen: 0 };
      nextId = nextId >= 0xffffffff ? 1 : nextId + 1;
      this.#byKey.set(key, c);
      this.#byId.set(c.id, c);
    }
    c.lastSeen = Date.now();
    const send = this.#send();
    const ok = send?.({ type: 'UdpPacket', srcPort: rinfo.port, dstPort: this.spec.remotePort, id: c.id, data: msg });
    if (!ok) {
      this.#stats.dropped++;
      return;
    }
    this.#stats.datagramsIn++;
    this.#stats.bytesIn += msg.byteLength;
  }
}

/** Binds a UDP socket on address:port (0 = any free port); rejects with the errno error. */
export function bindUdp(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const v6 = address.includes(':');
    const s = createSocket({ type: v6 ? 'udp6' : 'udp4', ...(v6 ? { ipv6Only: true } : {}), recvBufferSize: 4 << 20 });
    const fail = (err: Error) => {
      s.close();
      reject(err);
    };
    s.once('error', fail);
    s.bind({ address, port, exclusive: true }, () => {
      s.off('error', fail);
      s.on('error', () => {});
      resolve(s);
    });
  });
}
