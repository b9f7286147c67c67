import { createSocket, type Socket } from 'node:dgram';
import type { Message, MessageOf } from '@port-linker/proto';
import type { AgentContext, AgentFeature } from './agent-feature.ts';

/** A client mapping with no traffic for this long is closed (the host expires its side likewise). */
export const UDP_IDLE_MS = 60_000;

interface Flow {
  socket: Socket;
  lastSeen: number;
  /** Datagrams that arrived before connect() finished (bounded), or undefined once connected. */
  pending: Uint8Array[] | undefined;
}

/** Most datagrams held per flow while its socket connects; more are dropped. */
const MAX_PENDING = 64;

interface Target {
  address: string;
  flows: Map<number, Flow>;
}

/**
 * The agent side of UDP forwarding. One connected ephemeral socket per (remote port, host client id):
 * the remote service sees one peer per local client, as it would through NAT, and each reply goes
 * back tagged with the id of the client that caused it. Nothing blocks: a reply that finds the
 * host link congested is dropped (UDP semantics) and counted, never queued.
 */
export class UdpRelay implements AgentFeature {
  readonly name = 'udp';
  readonly types: readonly Message['type'][] = ['StartUdpForward', 'StopUdpForward', 'UdpPacket'];
  readonly capabilities = ['udp'];
  readonly #targets = new Map<number, Target>();
  readonly #idleMs: number;
  readonly #sweep: NodeJS.Timeout;
  /** Datagrams dropped (unknown port, congested link, send errors). */
  dropped = 0;
  /** The agent's context, from the last message (the idle sweep has none of its own). */
  #context: AgentContext | undefined;

  /** `idleMs` bounds how long an idle client mapping lives. */
  constructor(idleMs = UDP_IDLE_MS) {
    this.#idleMs = idleMs;
    this.#sweep = setInterval(() => this.expire(Date.now()), Math.min(10_000, idleMs));
    this.#sweep.unref();
  }

  /** Open client sockets (for tests and logs). */
  get flows(): number {
    let n = 0;
    for (const t of this.#targets.values()) n += t.flows.size;
    return n;
  }

  handle(message: Message, ctx: AgentContext): void {
    this.#context = ctx;
    switch (message.type) {
      case 'StartUdpForward':
        if (!this.#targets.has(message.port))
          this.#targets.set(message.port, { address: message.address, flows: new Map() });
        else (this.#targets.get(message.port) as Target).address = message.address;
        ctx.log('debug', 'agent.udp', `forwarding udp ${message.address}:${message.port}`);
        return;
      case 'StopUdpForward':
        this.#stop(message.port);
        ctx.log('debug', 'agent.udp', `stopped udp port ${message.port}`);
        return;
      case 'UdpPacket':
        this.#fromHost(message, ctx);
        return;
      default:
        return;
    }
  }

  /** Closes client sockets idle since before `now - idleMs`. */
  expire(now: number): void {
    let closed = 0;
    for (const t of this.#targets.values()) {
      for (const [id, f] of t.flows) {
        if (now - f.lastSeen > this.#idleMs) {
          f.socket.close();
          t.flows.delete(id);
          closed++;
        }
      }
    }
    if (closed > 0) this.#context?.socketsChanged?.();
  }

  close(): void {
    clearInterval(this.#sweep);
    for (const port of [...this.#targets.keys()]) this.#stop(port);
  }

  #stop(port: number): void {
    const t = this.#targets.get(port);
    if (!t) return;
    for (const f of t.flows.values()) f.socket.close();
    if (t.flows.size > 0) this.#context?.socketsChanged?.();
    this.#targets.delete(port);
  }

  #fromHost(p: MessageOf<'UdpPacket'>, ctx: AgentContext): void {
    const target = this.#targets.get(p.dstPort);
    if (!target) {
      this.dropped++;
      return;
    }
    let flow = target.flows.get(p.id);
    if (!flow) {
      const socket = createSocket({ type: target.address.includes(':') ? 'udp6' : 'udp4' });
      const created: Flow = { socket, lastSeen: Date.now(), pending: [] };
      flow = created;
      target.flows.set(p.id, created);
      const clientPort = p.srcPort;
      socket.on('error', (err) => {
        ctx.log('debug', 'agent.udp', `udp ${target.address}:${p.dstPort} client ${p.id}: ${err.message}`);
      });
      socket.on('message', (data) => {
        created.lastSeen = Date.now();
        if (ctx.congested?.()) {
          this.dropped++;
          return;
        }
        ctx.send({ type: 'UdpPacket', srcPort: p.dstPort, dstPort: clientPort, id: p.id, data });
      });
      socket.connect(p.dstPort, target.address, () => {
        ctx.socketsChanged?.(); // bound now: its ephemeral port moved the counters too
        const queued = created.pending ?? [];
        created.pending = undefined;
        for (const d of queued) this.#send(created, d);
      });
    }
    flow.lastSeen = Date.now();
    if (flow.pending) {
      // dgram refuses send() until connect() has finished (it wants a port): hold a few datagrams
      if (flow.pending.length < MAX_PENDING) flow.pending.push(p.data);
      else this.dropped++;
      return;
    }
    this.#send(flow, p.data);
  }

  #send(flow: Flow, data: Uint8Array): void {
    try {
      flow.socket.send(data);
    } catch {
      this.dropped++;
    }
  }
}
