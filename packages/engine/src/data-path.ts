import type { Duplex } from 'node:stream';
import { connectDirect, type MuxSession } from '@port-linker/datapath';
import type { AgentLink } from '@port-linker/deploy';
import type { Dialer } from '@port-linker/forward';
import type { Message, MessageOf } from '@port-linker/proto';
import { ChannelError, type SshConnection } from '@port-linker/ssh';
import type { HostEmitter } from './events.ts';
import type { SessionDeps } from './session-deps.ts';

/** `--data-path`: how forwarded TCP connections travel. */
export type DataPathMode = 'auto' | 'direct' | 'ssh';

/** How long the agent has to answer DataPathRequest, and the TLS connect to finish. */
const OFFER_TIMEOUT_MS = 5000;
const CONNECT_TIMEOUT_MS = 3000;
/** 64-byte round trips timed through each path (the median decides). */
const ECHO_ROUNDS = 15;
/** Reconnects of a dropped direct session while its agent lives. */
const MAX_RETRIES = 5;

/**
 * The data path of one host. Forwarded TCP connections ride SSH `direct-tcpip` channels until the direct path is up:
 * one TLS 1.3 connection from here to the agent (pre-shared key sent over SSH, so both ends are authenticated and the
 * bytes encrypted end to end), every connection a stream on it (packages/datapath). `auto` times 64-byte round trips
 * through both paths to the agent's loopback echo and takes the direct path only when its median is shorter; `direct`
 * takes it whenever it connects; `ssh` never. The choice is the `data_path` event (and `doctor`'s data path line). A dropped session
 * sends new connections back to SSH at once; it is reconnected while the agent lives.
 */
export class DataPath {
  readonly #mode: DataPathMode;
  readonly #deps: Pick<SessionDeps, 'log'>;
  readonly #emit: HostEmitter;
  readonly #ownPort: (port: number) => void;
  #session: MuxSession | undefined;
  #generation = 0;

  /** `ownPort` learns the agent's listener port (never to be mirrored). */
  constructor(mode: DataPathMode, deps: Pick<SessionDeps, 'log'>, emit: HostEmitter, ownPort: (port: number) => void) {
    this.#mode = mode;
    this.#ownPort = ownPort;
    this.#deps = deps;
    this.#emit = emit;
  }

  get mode(): DataPathMode {
    return this.#mode;
  }

  /** The dialer of a connection: the direct session while it is up, else SSH channels. */
  dialer(conn: SshConnection): Dialer {
    return (host, port) => {
      const s = this.#session;
      if (s && !s.closed) {
        try {
          return Promise.resolve(s.open(host, port));
        } catch {
          // closed between the check and the open: SSH below
        }
      }
      return conn.forwardOut(host, port);
    };
  }

  /** True while forwarded connections go direct. */
  get direct(): boolean {
    return this.#session !== undefined && !this.#session.closed;
  }

  /** Sets the direct path up over a started agent (no-op for `ssh`, agents without it, or via jump hosts). */
  async attach(conn: SshConnection, link: AgentLink): Promise<void> {
    if (this.#mode === 'ssh') return;
    const generation = ++this.#generation;
    const current = () => generation === this.#generation;
    const choose = (kind: 'direct' | 'ssh', reason: string, rtt?: { direct?: number; ssh?: number }) => {
      if (!current()) return;
      this.#emit('data_path', {
        kind,
        mode: this.#mode,
        reason,
        ...(rtt?.direct !== undefined ? { rtt_direct_ms: round(rtt.direct) } : {}),
        ...(rtt?.ssh !== undefined ? { rtt_ssh_ms: round(rtt.ssh) } : {}),
      });
      this.#deps.log.log(kind === 'ssh' && this.#mode === 'direct' ? 'warn' : 'info', `data path: ${kind} (${reason})`);
    };
    if (!link.info?.capabilities.includes('datapath'))
      return choose('ssh', 'the agent has no direct data path (agentless, or an older agent)');
    const address = conn.remoteAddress;
    if (!address) return choose('ssh', 'SSH goes through a jump host or ProxyCommand: no direct route to the agent');
    const offer = await requestOffer(link);
    if (!current()) return;
    if (!offer) return choose('ssh', `the agent did not offer a listener within ${OFFER_TIMEOUT_MS / 1000} s`);
    if (offer.port === 0) return choose('ssh', `the agent cannot listen: ${offer.reason}`);
    this.#ownPort(offer.port);
    this.#ownPort(offer.echoPort);
    // SSH's round trip first, against the agent's loopback echo: it also tells whether the server allows forwarding
    let sshRtt: number | undefined;
    try {
      sshRtt = await echoRoundTrip(await conn.forwardOut('127.0.0.1', offer.echoPort));
    } catch (err) {
      if (err instanceof ChannelError && err.reason === 'administratively prohibited')
        return choose('ssh', 'the server forbids TCP forwarding (AllowTcpForwarding): the agent will not dial for it');
    }
    const target = { address, port: offer.port, key: offer.key };
    let session: MuxSession;
    try {
      session = await connectDirect(target, CONNECT_TIMEOUT_MS);
    } catch (err) {
      return choose('ssh', `cannot reach the agent's listener: ${(err as Error).message}`);
    }
    if (!current()) {
      session.close();
      return;
    }
    const directRtt = await echoRoundTrip(session.open('127.0.0.1', offer.echoPort)).catch(() => undefined);
    const rtt = {
      ...(directRtt !== undefined ? { direct: directRtt } : {}),
      ...(sshRtt !== undefined ? { ssh: sshRtt } : {}),
    };
    if (directRtt === undefined) {
      session.close();
      return choose('ssh', 'the direct connection did not echo', rtt);
    }
    if (this.#mode === 'auto' && sshRtt !== undefined && directRtt >= sshRtt) {
      session.close();
      return choose('ssh', 'measured: a round trip through SSH is shorter', rtt);
    }
    this.#use(session, target, generation);
    choose('direct', `TLS 1.3 to ${address}:${offer.port}`, rtt);
  }

  /** Forget the direct session (the agent or the connection went): new connections use SSH. */
  detach(): void {
    this.#generation++;
    this.#session?.close();
    this.#session = undefined;
  }

  #use(session: MuxSession, target: { address: string; port: number; key: Uint8Array }, generation: number): void {
    this.#session = session;
    let retries = 0;
    const onClose = (reason: string) => {
      if (generation !== this.#generation || this.#session !== session) return;
      this.#session = undefined;
      this.#deps.log.warn(`data path: the direct connection closed (${reason}); new connections use SSH meanwhile`);
      const retry = async () => {
        if (generation !== this.#generation || retries >= MAX_RETRIES) return;
        retries++;
        await new Promise((r) => setTimeout(r, 1000 * 2 ** (retries - 1)).unref());
        if (generation !== this.#generation) return;
        try {
          const next = await connectDirect(target, CONNECT_TIMEOUT_MS);
          if (generation !== this.#generation) return next.close();
          this.#session = next;
          session = next;
          next.once('close', onClose);
          this.#deps.log.info('data path: direct connection restored');
        } catch {
          void retry();
        }
      };
      void retry();
    };
    session.once('close', onClose);
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * Median of ECHO_ROUNDS 64-byte round trips through `stream` (to the agent's echo), in ms; the stream is closed after.
 * Rejects when the echo does not come back within 2 s.
 */
async function echoRoundTrip(stream: Duplex): Promise<number> {
  const payload = Buffer.alloc(64, 0x2a);
  const times: number[] = [];
  try {
    for (let i = 0; i < ECHO_ROUNDS; i++) {
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        let got = 0;
        const timer = setTimeout(() => done(new Error('no echo within 2 s')), 2000);
        const onData = (d: Buffer) => {
          got += d.length;
          if (got >= payload.length) done();
        };
        const onGone = () => done(new Error('closed'));
        const done = (err?: Error) => {
          clearTimeout(timer);
          stream.off('data', onData);
          stream.off('close', onGone);
          stream.off('error', onGone);
          if (err) reject(err);
          else resolve();
        };
        stream.on('data', onData);
        stream.once('close', onGone);
        stream.once('error', onGone);
        stream.write(payload);
      });
      times.push(performance.now() - t0);
    }
  } finally {
    stream.destroy();
  }
  return times.sort((x, y) => x - y)[Math.floor(times.length / 2)] as number;
}

function requestOffer(link: AgentLink): Promise<MessageOf<'DataPathOffer'> | undefined> {
  return new Promise((resolve) => {
    const onMessage = (m: Message) => {
      if (m.type !== 'DataPathOffer') return;
      done(m);
    };
    const done = (m: MessageOf<'DataPathOffer'> | undefined) => {
      clearTimeout(timer);
      link.off('message', onMessage);
      link.off('exit', onExit);
      resolve(m);
    };
    const onExit = () => done(undefined);
    const timer = setTimeout(() => done(undefined), OFFER_TIMEOUT_MS);
    link.on('message', onMessage);
    link.once('exit', onExit);
    link.send({ type: 'DataPathRequest' });
  });
}
