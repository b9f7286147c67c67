import { connect as netConnect } from 'node:net';
import type { ForwardSpec } from '@port-linker/forward';
import { ErrorCode, PortLinkerError } from '@port-linker/proto';
import { ConnectError, connect, type ResolvedHost, type SshConnection } from '@port-linker/ssh';
import { AgentSupervisor } from './agent-supervisor.ts';
import { backoffDelayMs, sleep } from './backoff.ts';
import { DataPath } from './data-path.ts';
import { ForwardSync } from './forward-sync.ts';
import type { HostOptions } from './host-options.ts';
import { checkLink } from './link-check.ts';
import { OpenSshDataPlane } from './openssh-data-plane.ts';
import { type RemoteForwardInfo, RemoteForwards } from './remote-forwards.ts';
import type { SessionDeps } from './session-deps.ts';

export type { Level, SessionDeps, SessionLog, SessionStatus } from './session-deps.ts';

/** How long a health check waits for the server's answer before the link is declared dead. */
const CHECK_TIMEOUT_MS = 3000;
/** While the OpenSSH plane carries the forwards: a link silent this long is checked (see #watchPlane). */
const PLANE_WATCH_MS = 2000;
/** The same without an agent (the round trip then runs a process on the remote). */
const PLANE_EXEC_WATCH_MS = 10_000;

/**
 * One host, for the life of the process: connect, deploy and supervise the agent, turn its pushes
 * into forwards, and on connection loss keep the listeners bound, back off (1 s doubling to 30 s,
 * forever) and re-sync after reconnecting. Resolves on a clean stop (signal aborted); rejects only
 * when the first connection fails (unless `persistent`) or authentication/host-key checks fail.
 */
export class HostSession {
  readonly #cfg: HostOptions;
  readonly #host: ResolvedHost;
  readonly #deps: SessionDeps;
  readonly #sync: ForwardSync;
  readonly #agent: AgentSupervisor;
  readonly #remote: RemoteForwards;
  readonly #dataPath: DataPath;
  /** `--data-path openssh`: OpenSSH's client holds the plain TCP forwards. */
  readonly #openssh: OpenSshDataPlane | undefined;
  #conn: SshConnection | undefined;
  /** Aborted to cut a reconnect backoff short (a wake-up: the network may be back). */
  #wakeup = new AbortController();
  /** The health check in flight. */
  #checking: Promise<void> | undefined;
  /** The link check a stalled channel open started, while it runs (one at a time). */
  #stallCheck: Promise<void> | undefined;
  /** The last link was dropped while the server took new connections: the next attempt goes without a backoff. */
  #reconnectNow = false;
  /** When #watchPlane last ran `true` on the remote. */
  #lastExecWatch = 0;

  /** `host` is the resolved ssh target; explicit forwards are parsed here (UsageError on junk). */
  constructor(cfg: HostOptions, host: ResolvedHost, deps: SessionDeps) {
    this.#cfg = cfg;
    this.#host = host;
    this.#deps = deps;
    this.#sync = new ForwardSync(cfg, host, deps);
    // auto without mirroring stays on SSH (no agent for an ssh -L user unless `--data-path direct` asks for one)
    const wanted = cfg.dataPath ?? 'auto';
    // openssh: the ControlMaster carries plain TCP forwards; port-linker's own channels carry the rest (and take
    // over when the master is gone); auto does not take it (docs/faults.md: with it as the default, two fault rows
    // failed once each in a full run, not understood yet)
    const dataPath = cfg.agent === 'none' || wanted === 'openssh' || (!cfg.auto && wanted === 'auto') ? 'ssh' : wanted;
    this.#openssh = wanted === 'openssh' ? new OpenSshDataPlane(host, deps, deps.emit) : undefined;
    this.#dataPath = new DataPath(
      dataPath,
      deps,
      deps.emit,
      (port) => {
        if (this.#sync.addOwnPort(port)) void this.#sync.resync();
      },
      (why) => void this.checkNow(why),
    );
    this.#agent = new AgentSupervisor(cfg, host, deps, this.#sync, {}, this.#dataPath);
    this.#remote = new RemoteForwards(this.#sync.remote, deps);
  }

  /** The live connection, while there is one. */
  get connection(): SshConnection | undefined {
    return this.#conn && !this.#conn.closed ? this.#conn : undefined;
  }

  /** Adds an explicit `-L` forward (`[bind:]lport:rhost:rport`; UsageError on junk); returns its key. */
  addForward(text: string): Promise<string> {
    return this.#sync.addForward(text);
  }

  /** Removes an explicit forward by its `-L` text or key; false when there is none. */
  removeForward(textOrKey: string): Promise<boolean> {
    return this.#sync.removeForward(textOrKey);
  }

  /** Stops one forward by key until `startForward` (the listener closes; the local port stays reserved). */
  stopForward(key: string): Promise<boolean> {
    return this.#sync.stop(key);
  }

  /** Starts a forward stopped by `stopForward`. */
  startForward(key: string): Promise<boolean> {
    return this.#sync.start(key);
  }

  /** The forwards stopped from outside. */
  stoppedForwards(): ForwardSpec[] {
    return this.#sync.stopped();
  }

  /** The `-R` forwards and where each stands. */
  remoteForwards(): RemoteForwardInfo[] {
    return this.#remote.list();
  }

  /**
   * Checks the host now instead of waiting for keepalive timeouts (after a suspend, SIGSTOP or clock jump): a round
   * trip over the SSH link, then an agent ping; a dead link is dropped, so the loop rebuilds it at once with the same
   * local listeners, and a silent agent is restarted. A host waiting out a reconnect backoff retries now. Emits
   * `health_check`.
   */
  checkNow(trigger: string): Promise<void> {
    // one check at a time: a burst of triggers (wake-up, stalls, intervals) shares the one in flight
    this.#checking ??= this.#check(trigger).finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #check(trigger: string): Promise<void> {
    const conn = this.#conn;
    if (!conn) {
      this.#wakeup.abort();
      return;
    }
    const t0 = performance.now();
    const reachable = this.#deps.reachable ?? tcpReachable;
    const verdict = await checkLink(conn, {
      timeoutMs: CHECK_TIMEOUT_MS,
      ...(this.#direct ? { reachable: (ms: number) => reachable(this.#host.hostname, this.#host.port, ms) } : {}),
    });
    // a busy link's agent answers behind the same queue: no ping (a late pong would restart a working agent)
    const agent = verdict.alive && !verdict.busy ? await this.#agent.ping(CHECK_TIMEOUT_MS) : undefined;
    const ms = Math.round(performance.now() - t0);
    this.#deps.emit('health_check', { trigger, alive: verdict.alive, ms, ...(agent === undefined ? {} : { agent }) });
    if (verdict.alive) return;
    // the server answers a new connection: reconnect at once rather than after the first backoff
    if (verdict.serverReachable) this.#reconnectNow = true;
    conn.abandon(`${verdict.reason} after a ${trigger}`);
  }

  /**
   * While OpenSSH's master holds the forwards, no connection opens a channel here, so a stalled open can no longer
   * reveal a dead link (its keepalives would take ServerAliveInterval x CountMax): a link silent for PLANE_WATCH_MS
   * gets a round trip, and one unanswered within CHECK_TIMEOUT_MS the full check, which drops a dead link, so the
   * ports come back here (release) and the loop reconnects as on SSH channels.
   */
  async #watchPlane(conn: SshConnection): Promise<void> {
    if (!this.#openssh?.carrying || this.#checking || conn.closed || conn.silentMs < PLANE_WATCH_MS) return;
    // the round trip: the agent's Ping/Pong (no process on the remote); without an agent, a channel running `true`,
    // which starts a process there, so at most every PLANE_EXEC_WATCH_MS
    const agent = await this.#agent.ping(CHECK_TIMEOUT_MS);
    if (agent === true) return;
    if (agent === undefined) {
      if (performance.now() - this.#lastExecWatch < PLANE_EXEC_WATCH_MS) return;
      this.#lastExecWatch = performance.now();
      if (await conn.checkAlive(CHECK_TIMEOUT_MS)) return;
    }
    if (!conn.closed)
      await this.checkNow(`no answer over the link within ${CHECK_TIMEOUT_MS / 1000} s (OpenSSH data plane)`);
  }

  /** Connected straight to the server (no jump host or ProxyCommand): a TCP connect to it says it is reachable. */
  get #direct(): boolean {
    return this.#host.proxyJump.length === 0 && !this.#host.proxyCommand;
  }

  /**
   * Sleeps out a backoff delay, or less when a wake-up comes first. After a network-level failure (`probe`), a plain
   * TCP connect to the server every second cuts the wait short as soon as it answers: the network is back, so the
   * next SSH attempt goes now instead of up to 30 s later (the backoff still spaces out attempts that reach the
   * server and fail there). Not through jump hosts or ProxyCommand, where the first hop is not the server.
   */
  async #backoff(ms: number, signal: AbortSignal, probe = false): Promise<void> {
    if (this.#wakeup.signal.aborted) this.#wakeup = new AbortController();
    const wakeup = this.#wakeup;
    const done = new AbortController();
    if (probe && this.#direct && ms > PROBE_EVERY_MS) {
      void (async () => {
        const reachable = this.#deps.reachable ?? tcpReachable;
        while (!done.signal.aborted) {
          await sleep(PROBE_EVERY_MS, done.signal);
          if (done.signal.aborted) return;
          if (await reachable(this.#host.hostname, this.#host.port, PROBE_EVERY_MS)) return wakeup.abort();
        }
      })();
    }
    try {
      await sleep(ms, AbortSignal.any([signal, wakeup.signal]));
    } finally {
      done.abort();
    }
  }

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { log, emit, manager, view } = this.#deps;
    const where = `${this.#host.user}@${this.#host.hostname}:${this.#host.port}`;
    let attempt = 0;
    let connectedOnce = false;
    /** The last attempt (or the link) failed below SSH: refused, unreachable, timed out. */
    let networkDown = false;
    try {
      while (!signal.aborted) {
        view?.setStatus(connectedOnce ? `reconnecting to ${where} (attempt ${attempt})` : `connecting to ${where}`);
        let conn: SshConnection;
        try {
          // after a network failure, attempts are kept short so that one started while the link is down does not
          // hold the retry for a full ConnectTimeout once it is back (prompts pause the deadline)
          const target = networkDown
            ? { ...this.#host, connectTimeout: Math.min(this.#host.connectTimeout, RETRY_CONNECT_TIMEOUT_S) }
            : this.#host;
          conn = await (this.#deps.connect ?? connect)(target, {
            log: (level, msg) => log.log(level, msg),
            ...(this.#deps.prompt ? { prompt: this.#deps.prompt } : {}),
            signal,
          });
        } catch (err) {
          if (signal.aborted) break;
          if ((!connectedOnce && !this.#deps.persistent) || isFatal(err)) throw err;
          attempt++;
          const delay = (this.#deps.backoff ?? backoffDelayMs)(attempt);
          const error = (err as Error).message.split('\n')[0] ?? '';
          log.warn(
            `${connectedOnce ? 'reconnect' : 'connect'} to ${where} failed: ${error}; retrying in ${delay / 1000} s`,
          );
          emit('reconnecting', { attempt, delay_ms: delay, error });
          view?.setStatus(`disconnected: retrying in ${delay / 1000} s (attempt ${attempt})`, Date.now() + delay);
          networkDown = isNetworkFailure(err);
          await this.#backoff(delay, signal, networkDown);
          continue;
        }
        this.#conn = conn;
        networkDown = false;
        if (connectedOnce) {
          emit('reconnected', { attempt });
          log.info(`reconnected to ${where} after ${attempt} attempt(s)`);
        } else {
          log.info(`connected to ${where}`);
        }
        emit('connected', { hostname: this.#host.hostname, user: this.#host.user, port: this.#host.port });
        view?.setStatus(`connected to ${where}`);
        const first = !connectedOnce;
        connectedOnce = true;
        attempt = 0;
        const closed = new Promise<string>((resolve) => conn.once('close', (reason: string) => resolve(reason)));
        // a channel open left unanswered: check the link now rather than at the next keepalive
        conn.on('stalled', (why: string) => {
          this.#stallCheck ??= this.checkNow(why).finally(() => {
            this.#stallCheck = undefined;
          });
        });
        manager.setDialer(this.#dataPath.dialer(conn), (path) => conn.forwardOutUnix(path));
        await Promise.all([this.#sync.resync(), this.#remote.establish(conn)]);
        if (first && this.#host.exitOnForwardFailure) this.#checkForwards();
        void this.#openssh?.attach();
        // without auto mirroring the agent runs for the direct data path only (no watch)
        if (this.#cfg.auto || this.#dataPath.mode !== 'ssh') void this.#agent.supervise(conn, closed, signal);
        // the stop may have come while re-syncing: an abort listener added after it would never fire
        const stop = new Promise<string>((resolve) => {
          if (signal.aborted) resolve('stop');
          else signal.addEventListener('abort', () => resolve('stop'), { once: true });
        });
        const watch = this.#openssh
          ? setInterval(() => void this.#watchPlane(conn), PLANE_WATCH_MS).unref()
          : undefined;
        const reason = await Promise.race([closed, stop]);
        clearInterval(watch);
        manager.setDialer(undefined);
        this.#dataPath.detach();
        this.#remote.detach();
        if (signal.aborted) break;
        // the master's connection went down with ours, or soon will: the ports come back here at once (bound while
        // reconnecting, as every forward), and the next connect starts a new master
        await this.#openssh?.release();
        await this.#agent.stop();
        this.#conn = undefined;
        log.warn(`disconnected from ${where}: ${reason}; local ports stay bound while reconnecting`);
        emit('disconnected', { reason });
        attempt = 1;
        const delay = this.#reconnectNow ? 0 : (this.#deps.backoff ?? backoffDelayMs)(attempt);
        this.#reconnectNow = false;
        emit('reconnecting', { attempt, delay_ms: delay });
        view?.setStatus(`disconnected: retrying in ${delay / 1000} s (attempt ${attempt})`, Date.now() + delay);
        networkDown = true;
        await this.#backoff(delay, signal, true);
      }
    } finally {
      await this.#shutdown();
    }
  }

  /** ExitOnForwardFailure: a forward that could not be set up on the first connection ends the session. */
  #checkForwards(): void {
    const failed = [
      ...this.#sync
        .failedExplicit()
        .map(
          (f) =>
            `${f.dynamic ? '-D' : '-L'} ${f.localPath ?? `${f.bind[0]}:${f.wantedLocalPort}`}: the local side cannot listen`,
        ),
      ...this.#remote.failures().map((f) => `-R ${f.spec.text}: ${f.reason}`),
    ];
    if (failed.length > 0)
      throw new PortLinkerError(
        ErrorCode.Forward,
        `${failed[0]}${failed.length > 1 ? ` (and ${failed.length - 1} more)` : ''}; exiting (ExitOnForwardFailure yes)`,
      );
  }

  async #shutdown(): Promise<void> {
    this.#remote.close();
    await this.#openssh?.stop();
    await this.#agent.stop();
    this.#conn?.close();
    this.#conn = undefined;
    await this.#deps.manager.close();
  }
}

/** ConnectTimeout of a retry after a network failure (at most; the configured one when lower). */
const RETRY_CONNECT_TIMEOUT_S = 5;

/** How often a host in a reconnect backoff after a network failure is probed (a TCP connect to its SSH port). */
const PROBE_EVERY_MS = 1000;

/** The connect failed before SSH could speak: refused, unreachable, timed out (the network, or sshd down). */
function isNetworkFailure(err: unknown): boolean {
  const codes = ['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'ECONNRESET'];
  if (err instanceof ConnectError && err.errno !== undefined) return codes.includes(err.errno);
  return err instanceof ConnectError && /timed out/i.test(err.message);
}

/** True when a TCP connection to host:port opens within `timeoutMs` (closed at once). */
function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Auth and host-key failures stop the session even after it was connected once (retrying cannot fix them). */
function isFatal(err: unknown): boolean {
  return err instanceof PortLinkerError && (err.code === ErrorCode.Auth || err.code === ErrorCode.HostKey);
}
