import { connectDirect, type DirectTarget, type MuxSession, probeDataPath } from '@port-linker/datapath';
import type { AgentLink } from '@port-linker/deploy';
import type { Dialer } from '@port-linker/forward';
import type { SshConnection } from '@port-linker/ssh';
import type { HostEmitter } from './events.ts';
import type { SessionDeps } from './session-deps.ts';

/** `--data-path`: how forwarded TCP connections travel. */
export type DataPathMode = 'auto' | 'direct' | 'ssh';

/** TLS connect of a redial. */
const CONNECT_TIMEOUT_MS = 3000;
/** Reconnects of a dropped direct session while its agent lives. */
const MAX_RETRIES = 5;
/**
 * A connection opened on a session silent this long sends a PING; no frame within as long again and the host checks
 * its link (`onStall`); none within STALL_CLOSE_MS and the session is closed (its streams reset, new connections
 * on SSH, redialled): TCP under the session may sit in retransmission backoff after an outage.
 */
const STALL_MS = 1000;
const STALL_CLOSE_MS = 3000;

/**
 * The data path of one host. Forwarded TCP connections ride SSH `direct-tcpip` channels until the direct path is up:
 * one TLS 1.3 connection from here to the agent (pre-shared key sent over SSH, so both ends are authenticated and the
 * bytes encrypted end to end), every connection a stream on it (packages/datapath). `auto` times 64-byte round trips
 * through both paths to the agent's loopback echo and takes the direct path only when its median is shorter; `direct`
 * takes it whenever it connects; `ssh` never. The choice is the `data_path` event (and `doctor`'s data path line). A
 * dropped session sends new connections back to SSH at once; it is redialled (5 tries in all) while the agent lives.
 */
export class DataPath {
  readonly #mode: DataPathMode;
  readonly #deps: Pick<SessionDeps, 'log'>;
  readonly #emit: HostEmitter;
  readonly #ownPort: (port: number) => void;
  readonly #onStall: (why: string) => void;
  #session: MuxSession | undefined;
  #generation = 0;
  /** The session whose silence is being watched. */
  #watching: MuxSession | undefined;

  /**
   * `ownPort` learns the agent's listener port (never to be mirrored); `onStall` hears of a direct session that went
   * silent under a new connection (the host checks its link).
   */
  constructor(
    mode: DataPathMode,
    deps: Pick<SessionDeps, 'log'>,
    emit: HostEmitter,
    ownPort: (port: number) => void,
    onStall: (why: string) => void = () => {},
  ) {
    this.#mode = mode;
    this.#ownPort = ownPort;
    this.#deps = deps;
    this.#emit = emit;
    this.#onStall = onStall;
  }

  get mode(): DataPathMode {
    return this.#mode;
  }

  /** The dialer of a connection: the direct session while it is up, else SSH channels. */
  dialer(conn: SshConnection): Dialer {
    return (host, port) => {
      const s = this.#session;
      if (!s || s.closed) return conn.forwardOut(host, port);
      const stream = s.open(host, port);
      if (s.silentMs >= STALL_MS) void this.#watch(s);
      return Promise.resolve(stream);
    };
  }

  /** A PING on a session that has been quiet; see STALL_MS. */
  async #watch(s: MuxSession): Promise<void> {
    if (this.#watching === s) return;
    this.#watching = s;
    try {
      const t0 = performance.now();
      void s.ping(STALL_CLOSE_MS);
      /** Nothing has come since the PING, `ms` after it. */
      const quiet = async (ms: number) => {
        await new Promise((r) => setTimeout(r, ms - (performance.now() - t0)).unref());
        return !s.closed && s.silentMs >= performance.now() - t0;
      };
      if (!(await quiet(STALL_MS))) return;
      this.#onStall(`direct data path silent for ${STALL_MS / 1000} s`);
      if (!(await quiet(STALL_CLOSE_MS))) return;
      this.#deps.log.warn(`data path: no answer on the direct connection within ${STALL_CLOSE_MS / 1000} s`);
      s.close();
    } finally {
      if (this.#watching === s) this.#watching = undefined;
    }
  }

  /** True while forwarded connections go direct. */
  get direct(): boolean {
    return this.#session !== undefined && !this.#session.closed;
  }

  /** Sets the direct path up over a started agent (no-op for `ssh`); says the choice in a `data_path` event. */
  async attach(conn: SshConnection, link: AgentLink): Promise<void> {
    if (this.#mode === 'ssh') return;
    const generation = ++this.#generation;
    const result = await probeDataPath(conn, link, this.#mode, this.#ownPort);
    if (generation !== this.#generation) {
      if (result.kind === 'direct') result.session.close();
      return;
    }
    if (result.kind === 'direct') this.#use(result.session, result.target, generation);
    const { direct, ssh } = result.rtt;
    this.#emit('data_path', {
      kind: result.kind,
      mode: this.#mode,
      reason: result.reason,
      ...(direct !== undefined ? { rtt_direct_ms: round(direct) } : {}),
      ...(ssh !== undefined ? { rtt_ssh_ms: round(ssh) } : {}),
    });
    const level = result.kind === 'ssh' && this.#mode === 'direct' ? 'warn' : 'info';
    this.#deps.log.log(level, `data path: ${result.kind} (${result.reason})`);
  }

  /** Forget the direct session (the agent or the connection went): new connections use SSH. */
  detach(): void {
    this.#generation++;
    this.#session?.close();
    this.#session = undefined;
  }

  /** Carries connections on `session` until it closes, then redials (1 s doubling) from what is left of the budget. */
  #use(session: MuxSession, target: DirectTarget, generation: number, retriesLeft = MAX_RETRIES): void {
    this.#session = session;
    session.once('close', (reason: string) => {
      if (generation !== this.#generation || this.#session !== session) return;
      this.#session = undefined;
      this.#deps.log.warn(`data path: the direct connection closed (${reason}); new connections use SSH meanwhile`);
      void this.#redial(target, generation, retriesLeft);
    });
  }

  async #redial(target: DirectTarget, generation: number, retriesLeft: number): Promise<void> {
    for (let attempt = 0; attempt < retriesLeft; attempt++) {
      await new Promise((r) => setTimeout(r, 1000 * 2 ** (MAX_RETRIES - retriesLeft + attempt)).unref());
      if (generation !== this.#generation) return;
      const next = await connectDirect(target, CONNECT_TIMEOUT_MS).catch(() => undefined);
      if (!next) continue;
      if (generation !== this.#generation) return next.close();
      this.#deps.log.info('data path: direct connection restored');
      return this.#use(next, target, generation, retriesLeft - attempt - 1);
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
