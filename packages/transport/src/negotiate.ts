import type { Duplex } from 'node:stream';
import type { Message, TransportEntry, TransportName } from '@port-linker/proto';
import { connectTcpTransport } from './tcp-transport.ts';
import type { Transport } from './transport.ts';
import { TransportError } from './transport-error.ts';

/** What the user asked for with `--transport`. */
export type TransportPreference = 'auto' | TransportName;

/**
 * The order `auto` tries transports in, best first, by measurement on this machine class (see
 * ARCHITECTURE.md "Transports" and `npm run bench:transport`). stdio is always last.
 */
export const AUTO_ORDER: readonly TransportName[] = ['stdio'];

/** Default bound on one transport attempt (dial + handshake + the agent's accept frame). */
export const ATTEMPT_TIMEOUT_MS = 3000;

/**
 * Transports to try, in order, for `preference` given what the agent offered: the asked-for one
 * first, then the fallback list quic -> tcp -> stdio below it. Always ends with stdio.
 */
export function transportPlan(preference: TransportPreference, offered: readonly TransportEntry[]): TransportName[] {
  const has = new Set(offered.map((e) => e.kind));
  const order: readonly TransportName[] =
    preference === 'auto'
      ? AUTO_ORDER
      : (['quic', 'tcp', 'stdio'] as const).slice(['quic', 'tcp', 'stdio'].indexOf(preference));
  return [...order.filter((k) => k !== 'stdio' && has.has(k)), 'stdio'];
}

/** Host-side collaborators of a negotiation. */
export interface NegotiationPeer {
  /** Sends a message to the agent over the stdio channel (the authenticated control path). */
  sendControl(message: Message): void;
  /** Opens a direct-tcpip channel to the agent's remote loopback port. */
  dial(host: string, port: number): Promise<Duplex>;
  log(level: 'debug' | 'info' | 'warn', message: string): void;
  /** QUIC on this host (from `@port-linker/transport/quic`); without it a quic offer is skipped. */
  quic?: QuicConnector;
}

/** The host's QUIC side: its certificate fingerprint (sent in TransportAccept) and a pinned connect. */
export interface QuicConnector {
  readonly fingerprint: Uint8Array;
  /** Connects to the agent's UDP `port` on the remote, pinning `agentFingerprint`. */
  connect(port: number, agentFingerprint: Uint8Array, timeoutMs: number): Promise<Transport>;
}

/** The outcome: the transport carrying frames from now on (undefined = stdio), and what failed on the way. */
export interface NegotiationResult {
  kind: TransportName;
  transport: Transport | undefined;
  failures: string[];
}

/**
 * Host side of the negotiation. For each transport of the plan: TransportAccept{kind} over stdio
 * (the agent arms that transport), connect and authenticate within `timeoutMs`, and take it when
 * the agent's accept frame arrives over it. A failure moves down the list; stdio never fails.
 */
export async function negotiateTransport(
  offer: readonly TransportEntry[],
  preference: TransportPreference,
  peer: NegotiationPeer,
  timeoutMs = ATTEMPT_TIMEOUT_MS,
): Promise<NegotiationResult> {
  const failures: string[] = [];
  for (const kind of transportPlan(preference, offer)) {
    const entry = offer.find((e) => e.kind === kind);
    try {
      if (kind === 'tcp' && entry?.kind === 'tcp') {
        peer.sendControl({ type: 'TransportAccept', kind: 'tcp', data: new Uint8Array(0) });
        const stream = await withTimeout(peer.dial('127.0.0.1', entry.port), timeoutMs, 'tcp', 'direct-tcpip dial');
        const transport = await connectTcpTransport(stream, entry.secret, timeoutMs);
        return { kind, transport, failures };
      }
      if (kind === 'quic' && entry?.kind === 'quic' && peer.quic) {
        peer.sendControl({ type: 'TransportAccept', kind: 'quic', data: peer.quic.fingerprint });
        const transport = await peer.quic.connect(entry.port, entry.fingerprint, timeoutMs);
        return { kind, transport, failures };
      }
      if (kind === 'stdio') {
        peer.sendControl({ type: 'TransportAccept', kind: 'stdio', data: new Uint8Array(0) });
        return { kind, transport: undefined, failures };
      }
      throw new TransportError(kind, 'not supported by this host');
    } catch (err) {
      const why = (err as Error).message;
      failures.push(why);
      peer.log('warn', `${why}; trying the next transport`);
    }
  }
  return { kind: 'stdio', transport: undefined, failures };
}

/** Rejects with a TransportError when `p` does not settle within `ms` (a late result is closed). */
export function withTimeout<T>(p: Promise<T>, ms: number, kind: TransportName, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void p.then(
          (late) => (late as { destroy?: () => void })?.destroy?.(),
          () => {},
        );
        reject(new TransportError(kind, `${what} did not finish within ${ms} ms`));
      }, ms);
    }),
  ]);
}
