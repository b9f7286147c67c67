import { EventEmitter } from 'node:events';
import { type ForwardInfo, ForwardManager, type ForwardSpec, PortFilter, type PortKiller } from '@port-linker/forward';
import { type Prompter, passwordFilePrompter, type ResolvedHost, type SshConnection } from '@port-linker/ssh';
import { type EngineEvent, type EventFields, type EventName, makeEvent } from './events.ts';
import type { HostOptions } from './host-options.ts';
import { HostSession, type SessionLog, type SessionStatus } from './host-session.ts';
import type { LoopbackAddresses } from './loopback-addresses.ts';
import type { RemoteForwardInfo } from './remote-forwards.ts';
import type { StickyPorts } from './sticky-ports.ts';
import { WakeDetector } from './wake-detector.ts';

/** Where a host stands, as `snapshot()` and the status line show it. */
export type HostState = 'connecting' | 'connected' | 'reconnecting' | 'stopped' | 'failed';

/** One host in a snapshot. */
export interface HostSnapshot {
  host: string;
  state: HostState;
  /** Epoch ms of the last state change. */
  since: number;
  reconnects: number;
  forwards: ForwardInfo[];
  /** Forwards stopped from outside (`stopForward`), until started again. */
  stopped: ForwardSpec[];
  /** The `-R` forwards (remote listeners whose connections come here). */
  remoteForwards: RemoteForwardInfo[];
  /** Round trip of the last health check (SSH keepalive + agent ping), ms. */
  latencyMs?: number;
  error?: string;
}

/** What the engine needs from its owner (the CLI, the daemon). */
export interface EngineOptions {
  /** Local ports remembered across restarts (keyed by host). */
  ports: StickyPorts;
  /** Per-host loopback addresses for `bindAddress: 'auto'` (required for it). */
  addresses?: LoopbackAddresses;
  /** The logger of one host (lines carry its name when there are several). */
  logFor: (host: string) => SessionLog;
  /** The status line of one host, if people watch one. */
  statusFor?: (host: string) => SessionStatus;
  /** Frees a busy local port for `--conflict kill` (asks first on a TTY). */
  killOwner?: (port: number, log: SessionLog) => Promise<boolean>;
  prompt?: Prompter;
  now?: () => number;
  /** Hosts keep retrying when their first connection fails (the daemon); default false (the foreground CLI). */
  persistent?: boolean;
  /** Notices suspends, freezes and clock jumps (default: a WakeDetector on the system clocks; false = none). */
  wake?: WakeDetector | false;
}

interface HostEntry {
  host: string;
  session: HostSession;
  manager: ForwardManager;
  abort: AbortController;
  done: Promise<void>;
  state: HostState;
  since: number;
  reconnects: number;
  latencyMs?: number;
  error?: unknown;
  /** Why the last connection attempt failed, while it retries. */
  lastError?: string;
}

/** How a host ended: undefined error = stopped on request. */
export interface HostOutcome {
  host: string;
  error?: unknown;
}

/**
 * N hosts in one process, driven from outside: `addHost` / `removeHost` / `addForward` / `removeForward` in,
 * one typed event stream out (`on('event')`, schema v1), `snapshot()` for tables and APIs. Each host has its own SSH
 * connection, agent and forwards; they connect in parallel, and one failing host never stops the others. Local ports
 * are remembered per (host, forward) in the state dir, so a restart gives every forward the same local port; when two
 * hosts mirror the same remote port, the first to bind keeps the number and the next is remapped (and remembered).
 */
export class Engine extends EventEmitter<{ event: [EngineEvent] }> {
  readonly #options: EngineOptions;
  readonly #hosts = new Map<string, HostEntry>();
  readonly #now: () => number;
  readonly #wake: WakeDetector | undefined;

  constructor(options: EngineOptions) {
    super();
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#wake = options.wake === false ? undefined : (options.wake ?? new WakeDetector());
    this.#wake?.start((wake) => {
      for (const e of this.#hosts.values()) {
        const log = this.#options.logFor(e.host);
        log.info(
          `${wake.kind === 'frozen' ? 'woke up after a freeze' : 'the clock jumped'} of ${Math.round(wake.gapMs / 1000)} s: checking the link now`,
        );
        void e.session.checkNow(wake.kind);
      }
    });
  }

  /** Starts mirroring `host` (the target as written; unique). UsageError on a bad explicit forward. */
  addHost(host: string, resolved: ResolvedHost, hostOptions: HostOptions): void {
    if (this.#hosts.has(host)) throw new Error(`host ${host} is already added`);
    let options = hostOptions;
    if (options.bindAddress === 'auto') {
      if (!this.#options.addresses) throw new Error('bindAddress auto needs the engine option `addresses`');
      options = { ...options, bindAddress: this.#options.addresses.addressOf(host) };
    }
    const log = this.#options.logFor(host);
    const filter = PortFilter.fromOptions({
      ...(options.ports === undefined ? {} : { ports: options.ports }),
      ...(options.exclude === undefined ? {} : { exclude: options.exclude }),
      defaultExcludes: options.defaultExcludes,
    });
    const killOwner: PortKiller | undefined = this.#options.killOwner
      ? (port) => this.#options.killOwner?.(port, log) ?? Promise.resolve(false)
      : undefined;
    const manager = new ForwardManager({
      conflict: options.conflict,
      ...(killOwner ? { killOwner } : {}),
      log: (level, msg) => log.log(level, msg),
      memory: this.#options.ports.forHost(host),
      unixBind: {
        ...(resolved.streamLocalBindMask === undefined ? {} : { mask: resolved.streamLocalBindMask }),
        ...(resolved.streamLocalBindUnlink ? { unlink: true } : {}),
      },
    });
    const emit = <K extends EventName>(event: K, fields: EventFields[K]) => this.#emit(host, event, fields);
    manager.on('forward_added', (e) => emit('forward_added', { ...e, local_addr: e.local_addrs[0] ?? '127.0.0.1' }));
    manager.on('forward_removed', (e) => emit('forward_removed', e));
    manager.on('conflict', (e) => emit('conflict', e));
    const status = this.#options.statusFor?.(host);
    const prompt = options.passwordFile ? passwordFilePrompter(options.passwordFile) : this.#options.prompt;
    const session = new HostSession(options, resolved, {
      log,
      emit,
      manager,
      filter,
      ...(status ? { view: status } : {}),
      ...(prompt ? { prompt } : {}),
      ...(this.#options.persistent ? { persistent: true } : {}),
    });
    const abort = new AbortController();
    const entry: HostEntry = {
      host,
      session,
      manager,
      abort,
      done: Promise.resolve(),
      state: 'connecting',
      since: this.#now(),
      reconnects: 0,
    };
    this.#hosts.set(host, entry);
    entry.done = session.run(abort.signal).then(
      () => this.#stopped(entry, abort.signal.reason === 'removed' ? 'removed' : 'shutdown'),
      (err: unknown) => {
        entry.error = err;
        const message = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
        const code = err instanceof Error && 'code' in err ? { code: String(err.code) } : {};
        this.#emit(host, 'error', { message, ...code });
        this.#stopped(entry, 'failed', message);
      },
    );
  }

  /** Stops one host: its forwards go, its connection closes; resolves when it is down. */
  async removeHost(host: string): Promise<boolean> {
    const entry = this.#hosts.get(host);
    if (!entry) return false;
    entry.abort.abort('removed');
    await entry.done;
    this.#hosts.delete(host);
    return true;
  }

  /** Adds an explicit `-L` forward to a host; resolves with the forward's key once it is listening. */
  addForward(host: string, forward: string): Promise<string> {
    return this.#entry(host).session.addForward(forward);
  }

  /** Removes an explicit forward (its `-L` text or key). */
  removeForward(host: string, forward: string): Promise<boolean> {
    return this.#entry(host).session.removeForward(forward);
  }

  /** Stops one forward (by key) of a host until `startForward`; false when no such forward runs. */
  stopForward(host: string, key: string): Promise<boolean> {
    return this.#entry(host).session.stopForward(key);
  }

  /** Starts a forward stopped by `stopForward`, on the local port it had; false when it was not stopped. */
  startForward(host: string, key: string): Promise<boolean> {
    return this.#entry(host).session.startForward(key);
  }

  /** Closes and reopens one forward's listener (same local port); false when no such forward runs. */
  async restartForward(host: string, key: string): Promise<boolean> {
    if (!(await this.stopForward(host, key))) return false;
    return this.startForward(host, key);
  }

  /** The host's live SSH connection (for other channels on it: exec, SFTP); undefined while it is not connected. */
  connection(host: string): SshConnection | undefined {
    return this.#hosts.get(host)?.session.connection;
  }

  /** Checks one host end to end now, when it is connected (emits `health_check`). */
  check(host: string, trigger: string): void {
    const e = this.#hosts.get(host);
    if (e?.state === 'connected') void e.session.checkNow(trigger);
  }

  /** Checks every host end to end now (emits `health_check`, which updates `latencyMs`). */
  checkAll(trigger: string): void {
    for (const e of this.#hosts.values()) if (e.state === 'connected') void e.session.checkNow(trigger);
  }

  /** Every host with its state and forwards, in the order they were added. */
  snapshot(): HostSnapshot[] {
    return [...this.#hosts.values()].map((e) => ({
      host: e.host,
      state: e.state,
      since: e.since,
      reconnects: e.reconnects,
      forwards: e.manager.list(),
      stopped: e.session.stoppedForwards(),
      remoteForwards: e.session.remoteForwards(),
      ...(e.latencyMs === undefined ? {} : { latencyMs: e.latencyMs }),
      ...(e.error === undefined
        ? e.lastError === undefined
          ? {}
          : { error: e.lastError }
        : { error: e.error instanceof Error ? e.error.message : String(e.error) }),
    }));
  }

  /** Resolves when every host has ended, with how each ended. */
  async settled(): Promise<HostOutcome[]> {
    await Promise.all([...this.#hosts.values()].map((e) => e.done));
    return [...this.#hosts.values()].map((e) => ({
      host: e.host,
      ...(e.error === undefined ? {} : { error: e.error }),
    }));
  }

  /** Stops every host and saves the remembered ports. */
  async close(): Promise<HostOutcome[]> {
    this.#wake?.stop();
    for (const e of this.#hosts.values()) e.abort.abort('shutdown');
    const outcomes = await this.settled();
    this.#options.ports.flush();
    this.#options.addresses?.flush();
    return outcomes;
  }

  #entry(host: string): HostEntry {
    const entry = this.#hosts.get(host);
    if (!entry) throw new Error(`no host ${host} (add it first)`);
    return entry;
  }

  #stopped(entry: HostEntry, reason: EventFields['host_stopped']['reason'], message?: string): void {
    this.#setState(entry, reason === 'failed' ? 'failed' : 'stopped');
    this.#emit(entry.host, 'host_stopped', { reason, ...(message === undefined ? {} : { message }) });
  }

  #setState(entry: HostEntry, state: HostState): void {
    if (entry.state === state) return;
    entry.state = state;
    entry.since = this.#now();
  }

  #emit<K extends EventName>(host: string, event: K, fields: EventFields[K]): void {
    const entry = this.#hosts.get(host);
    if (entry) {
      if (event === 'connected') {
        this.#setState(entry, 'connected');
        entry.lastError = undefined;
      } else if (event === 'disconnected' || event === 'reconnecting') {
        this.#setState(entry, 'reconnecting');
        const error = (fields as EventFields['reconnecting']).error;
        if (error !== undefined) entry.lastError = error;
      }
      if (event === 'reconnected') entry.reconnects++;
      if (event === 'health_check') {
        const check = fields as EventFields['health_check'];
        if (check.alive) entry.latencyMs = check.ms;
        else delete entry.latencyMs;
      }
    }
    this.emit('event', makeEvent(host, event, fields, new Date(this.#now())));
  }
}
