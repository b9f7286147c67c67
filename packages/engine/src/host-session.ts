import { lookup } from 'node:dns/promises';
import { type AgentLink, type DeployResult, deployAgent, loadQuicConnector, startAgent } from '@port-linker/deploy';
import { type ForwardManager, type ForwardSpec, type PortFilter, parseLocalForward } from '@port-linker/forward';
import { ErrorCode, type Message, PortLinkerError } from '@port-linker/proto';
import { connect, type Prompter, type ResolvedHost, type SshConnection } from '@port-linker/ssh';
import { backoffDelayMs, sleep } from './backoff.ts';
import type { HostEmitter } from './events.ts';
import type { HostOptions } from './host-options.ts';
import { RemotePorts } from './remote-ports.ts';

/** How often the agent checks its scanner (ms): fast enough for the < 250 ms detection target. */
const WATCH_INTERVAL_MS = 150;

/** How long a health check waits for the server's answer before the link is declared dead. */
const CHECK_TIMEOUT_MS = 3000;

/** Log levels, as the CLI's logger takes them. */
export type Level = 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** Where a session logs (the CLI's Logger fits). */
export interface SessionLog {
  log(level: Level, message: string, fields?: Record<string, string | number | boolean | undefined>): void;
  warn(message: string): void;
  info(message: string): void;
  error(message: string): void;
}

/** A status line for people (the CLI's StatusView fits); optional. */
export interface SessionStatus {
  setStatus(text: string, until?: number): void;
  setAgent(text: string): void;
}

/** Collaborators of a session, injected by the engine (and by tests). */
export interface SessionDeps {
  log: SessionLog;
  emit: HostEmitter;
  manager: ForwardManager;
  filter: PortFilter;
  view?: SessionStatus;
  prompt?: Prompter;
  /** Opens the SSH connection (default: the real one; tests inject a fake). */
  connect?: typeof connect;
  /** Reconnect delay of an attempt (default: 1 s doubling to 30 s). */
  backoff?: (attempt: number) => number;
}

/**
 * One host, for the life of the process: connect, deploy and supervise the agent, turn its pushes
 * into forwards, and on connection loss keep the listeners bound, back off (1 s doubling to 30 s,
 * forever) and re-sync after reconnecting. Resolves on a clean stop (signal aborted); rejects only
 * when the first connection fails or authentication/host-key checks fail later.
 */
export class HostSession {
  readonly #cfg: HostOptions;
  readonly #host: ResolvedHost;
  readonly #deps: SessionDeps;
  #explicit: ForwardSpec[];
  readonly #remote = new RemotePorts();
  #link: AgentLink | undefined;
  #conn: SshConnection | undefined;
  /** Whether the running agent relays UDP (agentless mode cannot). */
  #udp = false;
  /** Ports the running agent listens on itself (its transports): excluded from mirroring. */
  #ownPorts: number[] = [];
  /** Aborted to cut a reconnect backoff short (a wake-up: the network may be back). */
  #wakeup = new AbortController();

  /** `host` is the resolved ssh target; explicit forwards are parsed here (UsageError on junk). */
  constructor(cfg: HostOptions, host: ResolvedHost, deps: SessionDeps) {
    this.#cfg = cfg;
    this.#host = host;
    this.#deps = deps;
    this.#explicit = [...host.localForwards.map(localForwardFromConfig), ...cfg.localForwards].map(parseLocalForward);
    // UDP forwards live on the agent: tell it when one starts or stops.
    deps.manager.on('forward_added', (e) => {
      if (e.protocol === 'udp')
        this.#link?.send({ type: 'StartUdpForward', port: e.remote_port, address: e.remote_addr });
    });
    deps.manager.on('forward_removed', (e) => {
      if (e.protocol === 'udp' && e.reason !== 'shutdown')
        this.#link?.send({ type: 'StopUdpForward', port: e.remote_port });
    });
  }

  /** Adds an explicit `-L` forward (`[bind:]lport:rhost:rport`; UsageError on junk); returns its key. */
  async addForward(text: string): Promise<string> {
    const spec = parseLocalForward(text);
    if (!this.#explicit.some((f) => f.key === spec.key)) this.#explicit = [...this.#explicit, spec];
    await this.#resync();
    return spec.key;
  }

  /** Removes an explicit forward by its `-L` text or key; false when there is none. */
  async removeForward(textOrKey: string): Promise<boolean> {
    let key = textOrKey;
    try {
      key = parseLocalForward(textOrKey).key;
    } catch {
      // a key, not -L text
    }
    const before = this.#explicit.length;
    this.#explicit = this.#explicit.filter((f) => f.key !== key);
    if (this.#explicit.length === before) return false;
    await this.#resync();
    return true;
  }

  /**
   * Checks the host now instead of waiting for keepalive timeouts (after a suspend, SIGSTOP or clock jump): a round
   * trip over the SSH link; a dead link is dropped, so the loop rebuilds it at once with the same local listeners.
   * A host waiting out a reconnect backoff retries now. Emits `health_check`.
   */
  async checkNow(trigger: string): Promise<void> {
    const conn = this.#conn;
    if (!conn) {
      this.#wakeup.abort();
      return;
    }
    const t0 = performance.now();
    const alive = await conn.checkAlive(CHECK_TIMEOUT_MS);
    this.#deps.emit('health_check', { trigger, alive, ms: Math.round(performance.now() - t0) });
    if (!alive) conn.abandon(`no answer within ${CHECK_TIMEOUT_MS / 1000} s after a ${trigger}`);
  }

  /** Sleeps out a backoff delay, or less when a wake-up comes first. */
  async #backoff(ms: number, signal: AbortSignal): Promise<void> {
    if (this.#wakeup.signal.aborted) this.#wakeup = new AbortController();
    await sleep(ms, AbortSignal.any([signal, this.#wakeup.signal]));
  }

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { log, emit, manager, view } = this.#deps;
    const where = `${this.#host.user}@${this.#host.hostname}:${this.#host.port}`;
    let attempt = 0;
    let connectedOnce = false;
    try {
      while (!signal.aborted) {
        view?.setStatus(connectedOnce ? `reconnecting to ${where} (attempt ${attempt})` : `connecting to ${where}`);
        let conn: SshConnection;
        try {
          conn = await (this.#deps.connect ?? connect)(this.#host, {
            log: (level, msg) => log.log(level, msg),
            ...(this.#deps.prompt ? { prompt: this.#deps.prompt } : {}),
            signal,
          });
        } catch (err) {
          if (signal.aborted) break;
          if (!connectedOnce || isFatal(err)) throw err;
          attempt++;
          const delay = (this.#deps.backoff ?? backoffDelayMs)(attempt);
          log.warn(`reconnect to ${where} failed: ${(err as Error).message}; retrying in ${delay / 1000} s`);
          emit('reconnecting', { attempt, delay_ms: delay });
          view?.setStatus(`disconnected: retrying in ${delay / 1000} s (attempt ${attempt})`, Date.now() + delay);
          await this.#backoff(delay, signal);
          continue;
        }
        this.#conn = conn;
        if (connectedOnce) {
          emit('reconnected', { attempt });
          log.info(`reconnected to ${where} after ${attempt} attempt(s)`);
        } else {
          log.info(`connected to ${where}`);
        }
        emit('connected', { hostname: this.#host.hostname, user: this.#host.user, port: this.#host.port });
        view?.setStatus(`connected to ${where}`);
        connectedOnce = true;
        attempt = 0;
        const closed = new Promise<string>((resolve) => conn.once('close', (reason: string) => resolve(reason)));
        manager.setDialer((h, p) => conn.forwardOut(h, p));
        await this.#resync();
        if (this.#cfg.auto) void this.#superviseAgent(conn, closed, signal);
        // the stop may have come while re-syncing: an abort listener added after it would never fire
        const stop = new Promise<string>((resolve) => {
          if (signal.aborted) resolve('stop');
          else signal.addEventListener('abort', () => resolve('stop'), { once: true });
        });
        const reason = await Promise.race([closed, stop]);
        manager.setDialer(undefined);
        if (signal.aborted) break;
        await this.#stopAgent();
        this.#conn = undefined;
        log.warn(`disconnected from ${where}: ${reason}; local ports stay bound while reconnecting`);
        emit('disconnected', { reason });
        attempt = 1;
        const delay = (this.#deps.backoff ?? backoffDelayMs)(attempt);
        emit('reconnecting', { attempt, delay_ms: delay });
        view?.setStatus(`disconnected: retrying in ${delay / 1000} s (attempt ${attempt})`, Date.now() + delay);
        await this.#backoff(delay, signal);
      }
    } finally {
      await this.#shutdown();
    }
  }

  async #shutdown(): Promise<void> {
    await this.#stopAgent();
    this.#conn?.close();
    this.#conn = undefined;
    await this.#deps.manager.close();
  }

  async #stopAgent(): Promise<void> {
    const link = this.#link;
    this.#link = undefined;
    if (!link) return;
    try {
      link.send({ type: 'Shutdown' });
    } catch {
      // channel already gone
    }
    await link.close().catch(() => {});
  }

  /** Deploys and runs the agent for one connection; restarts it if it dies, falls back to agentless. */
  async #superviseAgent(conn: SshConnection, closed: Promise<string>, signal: AbortSignal): Promise<void> {
    const { log, emit, view } = this.#deps;
    let mode = this.#cfg.agent;
    let gone = false;
    void closed.then(() => {
      gone = true;
    });
    const starts: number[] = [];
    while (!gone && !signal.aborted) {
      let deployed: DeployResult;
      let link: AgentLink;
      try {
        const quic = this.#cfg.transport === 'quic';
        // the agent ships its own debug/trace lines only when the user asked for them (frames cost)
        const logLevel = this.#cfg.logLevel === 'debug' || this.#cfg.logLevel === 'trace' ? this.#cfg.logLevel : 'info';
        deployed = await deployAgent(conn, {
          mode,
          log: (level, msg) => log.log(level, msg),
          quic,
          startInProbe: { logLevel },
        });
        link = await startAgent(conn, deployed, {
          log: (level: Level, msg: string) => log.log(level, msg),
          logLevel,
          transport: this.#cfg.transport,
          dial: (h, p) => conn.forwardOut(h, p),
          ...(quic ? { quic: () => this.#quicConnector(conn) } : {}),
        });
      } catch (err) {
        if (gone || signal.aborted) return;
        if (mode !== 'none') {
          log.warn(`agent could not start (${(err as Error).message}); falling back to agentless scanning`);
          mode = 'none';
          continue;
        }
        log.error(`agentless scanning failed too: ${(err as Error).message}; only explicit forwards work`);
        emit('error', { message: (err as Error).message });
        return;
      }
      if (gone || signal.aborted) {
        await link.close().catch(() => {});
        return;
      }
      this.#link = link;
      this.#ownPorts = [...(link.ownPorts ?? [])];
      this.#attachUdp(link);
      const transport = link.transport ?? 'stdio';
      emit('agent', {
        mode: deployed.mode,
        transport,
        platform: deployed.platform,
        bytes_uploaded: deployed.bytesUploaded,
        ...(link.info ? { pid: link.info.pid } : {}),
        ...(deployed.reason ? { reason: deployed.reason } : {}),
      });
      log.info(
        `agent: ${deployed.mode} on ${deployed.platform}, transport ${transport}, ${deployed.bytesUploaded} bytes uploaded${deployed.reason ? ` (${deployed.reason})` : ''}`,
      );
      view?.setAgent(`${deployed.mode}/${transport}`);
      link.on('message', (m: Message) => this.#onAgentMessage(m));
      // the agent's info lines (scanner chosen, watch started, ...) are detail for the user: shown with --log-level debug
      link.on('log', (e) =>
        log.log(e.level === 'info' ? 'debug' : e.level, e.message, { source: 'agent', target: e.target || undefined }),
      );
      const exited = new Promise<string>((resolve) => link.once('exit', (reason: string) => resolve(reason)));
      link.send({ type: 'WatchRequest', ...this.#protocols(), intervalMs: WATCH_INTERVAL_MS });
      const reason = await Promise.race([exited, closed.then(() => 'connection closed')]);
      if (this.#link === link) {
        this.#link = undefined;
        this.#deps.manager.setUdpSender(undefined);
      }
      if (gone || signal.aborted) return;
      log.warn(`agent exited (${reason}); restarting it`);
      const now = Date.now();
      starts.push(now);
      if (starts.filter((t) => now - t < 60_000).length >= 3 && mode !== 'none') {
        log.warn('agent keeps dying; switching to agentless scanning');
        mode = 'none';
      }
    }
  }

  /**
   * The QUIC side for this host (loaded only for `--transport quic`): UDP to the address the SSH connection's TCP
   * socket reached. Through a jump host or ProxyCommand there is no such socket: HostName is resolved instead, and
   * that address is usually not reachable over UDP (the attempt times out and tcp is used).
   */
  async #quicConnector(conn: SshConnection) {
    if (conn.remoteAddress) return loadQuicConnector(conn.remoteAddress);
    const { hostname } = this.#host;
    this.#deps.log.info(`quic: SSH goes through a jump host or ProxyCommand; trying UDP to ${hostname} directly`);
    const { address } = await lookup(hostname).catch((err: Error) => {
      throw new Error(`cannot resolve ${hostname} for UDP: ${err.message}`);
    });
    return loadQuicConnector(address);
  }

  /** Routes UDP through this agent when it can relay it; re-announces UDP forwards that outlived the last agent. */
  #attachUdp(link: AgentLink): void {
    const { manager, log } = this.#deps;
    this.#udp = this.#cfg.protocol !== 'tcp' && (link.info?.capabilities.includes('udp') ?? false);
    if (this.#cfg.protocol !== 'tcp' && !this.#udp)
      log.warn(`agent mode ${link.mode} cannot relay UDP: mirroring TCP only`);
    if (!this.#udp) {
      manager.setUdpSender(undefined);
      return;
    }
    manager.setUdpSender((packet) => {
      if (link.congested) return false;
      link.send(packet);
      return true;
    });
    for (const f of manager.list()) {
      if (f.spec.protocol === 'udp')
        link.send({ type: 'StartUdpForward', port: f.spec.remotePort, address: f.spec.remoteHost });
    }
  }

  #protocols(): { tcp: boolean; udp: boolean } {
    return { tcp: this.#cfg.protocol !== 'udp', udp: this.#udp };
  }

  #onAgentMessage(m: Message): void {
    if (m.type === 'UdpPacket') {
      this.#deps.manager.deliverUdp(m);
      return;
    }
    if (m.type !== 'ScanDelta') return;
    this.#remote.apply(m);
    void this.#resync();
  }

  async #resync(): Promise<void> {
    const { log, manager, filter } = this.#deps;
    const { specs, notes } = this.#remote.desired(filter.withExcluded(this.#ownPorts), this.#protocols());
    for (const n of notes) log.info(n);
    const bind = this.#cfg.bindAddress;
    const mirrored = bind ? specs.map((spec) => ({ ...spec, bind: [bind] })) : specs;
    await manager.sync([...this.#explicit, ...(this.#cfg.auto ? mirrored : [])]);
  }
}

/** Auth and host-key failures stop the session even after it was connected once (retrying cannot fix them). */
function isFatal(err: unknown): boolean {
  return err instanceof PortLinkerError && (err.code === ErrorCode.Auth || err.code === ErrorCode.HostKey);
}

/** ssh_config `LocalForward [bind:]port host:hostport` -> the -L form. */
function localForwardFromConfig(line: string): string {
  const [listen = '', target = ''] = line.trim().split(/\s+/);
  return `${listen}:${target}`;
}
