import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Message, TransportEntry, TransportName } from '@port-linker/proto';
import { TRANSPORT_OFFER_VERSION } from '@port-linker/proto';
import { acceptFrame, TcpTransportServer } from '@port-linker/transport/tcp';
import type { AgentContext, AgentFeature } from './agent-feature.ts';
import { RefusalLog } from './refusal-log.ts';

/** What the transport feature needs from the agent process: re-point frames to a socket, or back to stdio. */
export interface TransportSwitch {
  /** Frames go out on `stream` from now on, and what arrives on it is fed to the agent. */
  attach(kind: TransportName, stream: Duplex): void;
  /** Frames go back to stdio. */
  detach(): void;
}

/**
 * A QUIC listener as the agent needs it (QuicTransportServer of `@port-linker/transport/quic`):
 * events `peer` (Duplex) and `rejected` (why).
 */
export interface QuicListener extends EventEmitter {
  readonly port: number;
  readonly identity: { fingerprint: Uint8Array };
  expectClient(fingerprint: Uint8Array): void;
  close(): void | Promise<void>;
}

/** Loads and binds QUIC when this agent can (native addon present); rejects or resolves undefined when not. */
export type QuicLoader = () => Promise<QuicListener | undefined>;

/**
 * Transport negotiation, agent side: binds what it can (a loopback TCP listener with a session
 * secret), sends TransportOffer over stdio right after AgentHello, and on TransportAccept{kind}
 * arms that kind; the first authenticated peer of the armed kind gets the accept frame and
 * carries every frame from then on. TransportAccept{stdio} (the host's fallback) disarms.
 */
export class TransportFeature implements AgentFeature {
  readonly name = 'transport';
  readonly types = ['TransportOffer', 'TransportAccept'] as const satisfies readonly Message['type'][];
  readonly capabilities = ['transport'];
  readonly #switch: TransportSwitch | undefined;
  readonly #offerTcp: boolean;
  readonly #loadQuic: QuicLoader | undefined;
  /** Refused or dropped peers, said at most one line (and one summary) per 10 s. */
  #refusals = new RefusalLog(() => {});
  #tcp: TcpTransportServer | undefined;
  #quic: QuicListener | undefined;
  #armed: TransportName | undefined;
  #waiting: Duplex | undefined;
  #active: Duplex | undefined;
  #context: AgentContext | undefined;
  #closed = false;

  /** Without a switch (tests of the bare agent) only stdio is offered; quic only with a loader that works. */
  constructor(sw: TransportSwitch | undefined, options: { tcp?: boolean; quic?: QuicLoader } = {}) {
    this.#switch = sw;
    this.#offerTcp = options.tcp ?? true;
    this.#loadQuic = options.quic;
  }

  async start(context: AgentContext): Promise<void> {
    this.#context = context;
    this.#refusals = new RefusalLog((line) => context.log('warn', 'agent.transport', line));
    const entries: TransportEntry[] = [];
    if (this.#switch && this.#loadQuic) {
      try {
        const quic = await this.#loadQuic();
        if (quic && this.#closed) await quic.close();
        else if (quic) {
          quic.on('peer', (stream: Duplex) => this.#onPeer('quic', stream));
          quic.on('rejected', (why: string) => this.#refusals.refused(`refused a quic peer: ${why}`));
          this.#quic = quic;
          entries.push({ kind: 'quic', port: quic.port, fingerprint: quic.identity.fingerprint });
        }
      } catch (err) {
        // a missing or unloadable native addon only means no QUIC: never a crash
        context.log('info', 'agent.transport', `quic not offered: ${(err as Error).message}`);
      }
    }
    if (this.#switch && this.#offerTcp) {
      try {
        const tcp = await TcpTransportServer.listen('127.0.0.1');
        if (this.#closed) return tcp.close();
        tcp.on('peer', (socket: Duplex) => this.#onPeer('tcp', socket));
        tcp.on('rejected', (why: string) => this.#refusals.refused(`dropped a tcp peer: ${why}`));
        this.#tcp = tcp;
        entries.push({ kind: 'tcp', port: tcp.port, secret: tcp.secret });
      } catch (err) {
        context.log('info', 'agent.transport', `tcp not offered: cannot listen on loopback: ${(err as Error).message}`);
      }
    }
    entries.push({ kind: 'stdio' });
    context.send({ type: 'TransportOffer', version: TRANSPORT_OFFER_VERSION, entries });
  }

  handle(message: Message, context: AgentContext): void {
    if (message.type !== 'TransportAccept') {
      context.log('debug', 'agent.transport', `${message.type} ignored: offers go from agent to host`);
      return;
    }
    const kind = typeof message.kind === 'number' ? undefined : message.kind;
    if (this.#active) {
      this.#active.destroy();
      this.#active = undefined;
      this.#switch?.detach();
    }
    if (kind === 'quic' && this.#quic && message.data.byteLength === 32) {
      this.#quic.expectClient(message.data);
      this.#armed = 'quic';
      context.log('debug', 'agent.transport', 'quic accepted by the host: waiting for its handshake');
      if (this.#waiting) this.#take('quic', this.#waiting);
      return;
    }
    if (kind === 'tcp' && this.#tcp) {
      this.#armed = 'tcp';
      context.log('debug', 'agent.transport', 'tcp accepted by the host: waiting for its connection');
      if (this.#waiting) this.#take('tcp', this.#waiting);
      return;
    }
    this.#armed = undefined;
    this.#dropWaiting();
    const hadListeners = this.#tcp !== undefined || this.#quic !== undefined;
    this.#tcp?.close();
    this.#tcp = undefined;
    void this.#quic?.close();
    this.#quic = undefined;
    if (hadListeners) context.socketsChanged?.();
    context.log('info', 'agent.transport', `frames stay on stdio (host chose ${String(message.kind)})`);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#refusals.close();
    // the last frames (logs of the stop) go out on stdio, not on a channel about to be torn down
    if (this.#active) this.#switch?.detach();
    this.#active?.destroy();
    this.#active = undefined;
    this.#tcp?.close();
    await this.#quic?.close();
    this.#dropWaiting();
  }

  #onPeer(kind: TransportName, stream: Duplex): void {
    if (this.#armed === kind && !this.#active) {
      this.#take(kind, stream);
      return;
    }
    // authenticated before the host's TransportAccept arrived over stdio: hold it until then
    this.#dropWaiting();
    this.#waiting = stream;
    stream.once('close', () => {
      if (this.#waiting === stream) this.#waiting = undefined;
    });
  }

  #take(kind: TransportName, stream: Duplex): void {
    if (this.#waiting === stream) this.#waiting = undefined;
    this.#armed = undefined;
    this.#tcp?.close();
    this.#tcp = undefined;
    if (kind !== 'quic') {
      void this.#quic?.close();
      this.#quic = undefined;
    }
    this.#active = stream;
    stream.write(acceptFrame(kind === 'quic' ? 'quic' : 'tcp'));
    this.#switch?.attach(kind, stream);
    stream.once('close', () => {
      if (this.#active !== stream || this.#closed) return;
      this.#active = undefined;
      this.#switch?.detach();
      this.#context?.log('warn', 'agent.transport', `${kind} transport closed: frames go back to stdio`);
    });
    this.#context?.log('info', 'agent.transport', `frames now travel over ${kind}`);
  }

  #dropWaiting(): void {
    this.#waiting?.destroy();
    this.#waiting = undefined;
  }
}
