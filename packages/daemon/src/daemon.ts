import type { Server, ServerResponse } from 'node:http';
import {
  describeEvent,
  Engine,
  type EngineEvent,
  type HostSnapshot,
  LoopbackAddresses,
  StickyPorts,
} from '@port-linker/engine';
import { parseLocalForward } from '@port-linker/forward';
import { parseTarget, resolveHost, type SshConnection } from '@port-linker/ssh';
import { ApiError } from './api-error.ts';
import { apiToken } from './api-token.ts';
import { ConnectionPool } from './connection-pool.ts';
import { listenApi, listenControl, parseApiAddress, type Route } from './control-server.ts';
import { serveCopy } from './copy-request.ts';
import { acquireLock } from './daemon-lock.ts';
import { DaemonLog } from './daemon-log.ts';
import type { DaemonPaths } from './daemon-paths.ts';
import { DashboardFeed } from './dashboard-feed.ts';
import { DashboardServer } from './dashboard-server.ts';
import { DesiredState } from './desired-state.ts';
import { noRoomToStart } from './disk-room.ts';
import { serveExecStream } from './exec-stream.ts';
import { type HistoryEntry, HostHistory } from './host-history.ts';
import { type HostSpec, hostOptionsOf, parseHostSpec, sameSpec } from './host-spec.ts';
import { LEASE_RANGE, type Lease, LeaseRegistry, parseLeaseRange } from './lease-registry.ts';
import { lookupService } from './service-lookup.ts';
import { stateApiError } from './state-error.ts';

/** The control API's version (the `/v1/` of its paths). */
export const API_VERSION = 1;

/** One host as `GET /v1/hosts` shows it: what was asked for, and where it stands. */
export interface HostView extends Omit<HostSnapshot, 'host'> {
  id: string;
  target: string;
  profile?: string;
  spec: HostSpec;
  /** The last connection changes (newest last). */
  history: HistoryEntry[];
}

/** What the dashboard's stream sends (`event: snapshot`): the same objects as `GET /v1/hosts` and `GET /v1/list`. */
export interface DashboardState {
  version: string;
  hosts: HostView[];
  leases: Lease[];
}

/** How often each connected host is checked end to end (its latency on the dashboard and in `ls`). */
const HEALTH_INTERVAL_MS = 15_000;
/** After the state database failed (locked, full), how long the lease sweep leaves it alone before trying again. */
const SWEEP_BACKOFF_MS = 5000;

export interface DaemonOptions {
  paths: DaemonPaths;
  /** The port-linker version this daemon is (the CLI compares it with its own). */
  version: string;
  env?: NodeJS.ProcessEnv;
  /** The loopback TCP API's address (`127.0.0.1:3030`); default $PORT_LINKER_API, else none. */
  api?: string;
  /** Where the dashboard listens once asked for (default $PORT_LINKER_DASHBOARD, else 127.0.0.1 on any port). */
  dashboard?: string;
}

/**
 * The background daemon: one Engine whose hosts are the desired state in SQLite, restored on start (after a restart
 * or a crash, with the same local ports), and driven over the control API on a Unix socket. Hosts keep retrying
 * when they are down (`persistent`), like autossh.
 */
export class Daemon {
  readonly #paths: DaemonPaths;
  readonly #version: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #log: DaemonLog;
  readonly #state: DesiredState;
  readonly #engine: Engine;
  readonly #release: () => void;
  readonly #leases: LeaseRegistry;
  readonly #pool: ConnectionPool;
  /** Upgraded exec streams (the HTTP server no longer tracks them). */
  readonly #execSockets = new Set<import('node:stream').Duplex>();
  readonly #sweep: NodeJS.Timeout;
  readonly #specs = new Map<string, HostSpec>();
  readonly #streams = new Set<ServerResponse>();
  readonly #history = new HostHistory();
  readonly #feed = new DashboardFeed(() => this.#dashboardState());
  readonly #health: NodeJS.Timeout;
  readonly #dashboardAddress: { host: string; port: number };
  #dashboard: Promise<DashboardServer> | undefined;
  readonly #startedAt = Date.now();
  #server: Server | undefined;
  #api: Server | undefined;
  readonly #apiAddress: { host: string; port: number } | undefined;
  #stopping: Promise<void> | undefined;
  /** The state database's current failure (a lock, a full disk): logged when it starts and when it is over. */
  #stateTrouble: { code: string; since: number; last: number; failures: number } | undefined;
  /** The leases last read, for the dashboard while the database cannot be read. */
  #lastLeases: Lease[] = [];
  #stopped!: () => void;
  /** Resolves when the daemon has stopped (`stop()`, `POST /v1/shutdown`). */
  readonly done = new Promise<void>((resolve) => {
    this.#stopped = resolve;
  });

  private constructor(options: DaemonOptions) {
    this.#paths = options.paths;
    this.#version = options.version;
    this.#env = options.env ?? process.env;
    const rangeText = this.#env.PORT_LINKER_LEASE_RANGE;
    const range = rangeText ? parseLeaseRange(rangeText) : LEASE_RANGE; // before the lock: a bad value is just an error
    const api = options.api ?? this.#env.PORT_LINKER_API;
    this.#apiAddress = api ? parseApiAddress(api) : undefined;
    const dashboard = options.dashboard ?? this.#env.PORT_LINKER_DASHBOARD;
    this.#dashboardAddress = dashboard ? parseApiAddress(dashboard) : { host: '127.0.0.1', port: 0 };
    const noRoom = noRoomToStart(options.paths.stateDir);
    if (noRoom) throw new Error(noRoom);
    this.#release = acquireLock(options.paths.pid, options.paths.stateDir);
    try {
      this.#log = new DaemonLog(options.paths.log);
      this.#state = new DesiredState(options.paths.db);
    } catch (err) {
      this.#release();
      throw err;
    }
    const recovered = this.#state.recovered;
    if (recovered) {
      const line = `the state database ${options.paths.db} was damaged (${recovered.reason}): moved it to ${recovered.movedTo} and started a new one with the ${recovered.hosts} host(s) and ${recovered.leases} lease(s) still readable; \`port-linker up\` brings back the profiles`;
      this.#log.write('warn', line);
    }
    const warn = (msg: string) => this.#log.write('warn', msg);
    this.#engine = new Engine({
      ports: new StickyPorts(options.paths.stateDir, warn),
      addresses: new LoopbackAddresses(new StickyPorts(options.paths.stateDir, warn, 'addresses.json')),
      logFor: (host) => this.#log.forHost(host),
      persistent: true,
    });
    this.#engine.on('event', (e) => this.#onEvent(e));
    this.#leases = new LeaseRegistry(this.#state.database, {
      range,
      isHeld: (port) => this.#engine.snapshot().some((h) => h.forwards.some((f) => f.localPort === port)),
    });
    this.#pool = new ConnectionPool({
      ...(this.#env.HOME ? { home: this.#env.HOME } : {}),
      log: (level, msg, host) => this.#log.write(level, msg, host),
      held: (target) => this.#held(target),
    });
    this.#sweep = setInterval(() => {
      // a locked database makes every try wait for its busy timeout: not every second while it lasts
      if (this.#stateTrouble && Date.now() - this.#stateTrouble.last < SWEEP_BACKOFF_MS) return;
      let expired: Lease[];
      try {
        expired = this.#leases.sweep();
      } catch (err) {
        this.#stateFailure(err, 'the lease sweep');
        return;
      }
      for (const l of expired) {
        this.#log.write('info', `lease of ${l.service_name} on port ${l.port} expired (no heartbeat)`);
        this.#feed.changed();
      }
      if (expired.length > 0) this.#stateSaved();
    }, 1000);
    this.#sweep.unref();
    this.#health = setInterval(() => this.#engine.checkAll('interval'), HEALTH_INTERVAL_MS);
    this.#health.unref();
  }

  /** Takes the state dir's lock, restores the desired hosts and listens on the control socket. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const daemon = new Daemon(options);
    try {
      await daemon.#start();
    } catch (err) {
      await daemon.stop();
      throw err;
    }
    return daemon;
  }

  async #start(): Promise<void> {
    const hosts = this.#state.hosts((id, reason) =>
      this.#log.write('error', `cannot restore ${id}: ${reason}; bring it up again`, id),
    );
    this.#log.write('info', `daemon ${this.#version} starting (pid ${process.pid}); restoring ${hosts.length} host(s)`);
    for (const h of hosts) {
      try {
        this.#run(h.spec);
      } catch (err) {
        this.#log.write('error', `cannot restore ${h.id}: ${(err as Error).message}`, h.id);
      }
    }
    this.#server = await listenControl(
      this.#paths.socket,
      this.#routes(),
      (msg) => this.#log.write('error', msg),
      (req, socket, head) => {
        if (new URL(req.url ?? '/', 'http://daemon').pathname !== '/v1/exec') {
          socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
          return;
        }
        this.#execSockets.add(socket);
        socket.once('close', () => this.#execSockets.delete(socket));
        serveExecStream(req, socket, head, this.#pool, (msg) => this.#log.write('warn', msg));
      },
    );
    this.#log.write('info', `listening on ${this.#paths.socket}`);
    if (this.#apiAddress) {
      const token = apiToken(this.#paths.stateDir);
      // the registry and the read-only views; hosts are changed and the daemon stopped over the socket only
      const open = this.#routes().filter(
        (r) => r.method === 'GET' || this.#registryRoutes().some((x) => x.path.source === r.path.source),
      );
      this.#api = await listenApi(this.#apiAddress, token.value, open, (msg) => this.#log.write('error', msg));
      const { host, port } = this.#apiAddress;
      this.#log.write(
        'info',
        `loopback API on ${host.includes(':') ? `[${host}]` : host}:${port} (token in ${token.path})`,
      );
    }
  }

  /** Stops every host (their desired state stays), closes the socket and releases the lock. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#log.write('info', 'daemon stopping');
      clearInterval(this.#sweep);
      clearInterval(this.#health);
      for (const res of this.#streams) res.end();
      for (const socket of this.#execSockets) socket.destroy();
      this.#pool.close();
      this.#feed.close();
      await (await this.#dashboard?.catch(() => undefined))?.close();
      await new Promise<void>((resolve) => {
        if (!this.#api) return resolve();
        this.#api.close(() => resolve());
        this.#api.closeAllConnections();
      });
      await new Promise<void>((resolve) => {
        if (!this.#server) return resolve();
        this.#server.close(() => resolve());
        this.#server.closeAllConnections();
      });
      await this.#engine.close();
      this.#state.close();
      this.#release();
      this.#log.write('info', 'daemon stopped');
      this.#stopped();
    })();
    return this.#stopping;
  }

  #run(spec: HostSpec): void {
    const resolved = resolveHost(
      parseTarget(spec.target),
      {
        ...(spec.ssh_config ? { configFile: spec.ssh_config } : {}),
        identities: spec.identities,
        ...(spec.jump ? { jump: spec.jump } : {}),
        options: spec.ssh_options,
      },
      this.#env.HOME ? { home: this.#env.HOME } : {},
    );
    this.#engine.addHost(spec.id, resolved, hostOptionsOf(spec));
    this.#specs.set(spec.id, spec);
  }

  /**
   * The connection of a host the daemon runs, by id or target; while it connects (or reconnects) it is waited for,
   * up to 15 s. undefined: no such host (the pool opens a connection of its own).
   */
  async #held(target: string): Promise<{ id: string; conn: SshConnection } | undefined> {
    const spec = this.#specs.get(target) ?? [...this.#specs.values()].find((s) => s.target === target);
    if (!spec) return undefined;
    const id = spec.id;
    const now = this.#engine.connection(id);
    if (now) return { id, conn: now };
    const conn = await new Promise<SshConnection | undefined>((resolve) => {
      const timer = setTimeout(() => done(undefined), 15_000);
      const onEvent = (e: EngineEvent) => {
        if (e.host !== id) return;
        if (e.event === 'connected') done(this.#engine.connection(id));
        else if (e.event === 'host_stopped') done(undefined);
      };
      const done = (c: SshConnection | undefined) => {
        clearTimeout(timer);
        this.#engine.off('event', onEvent);
        resolve(c);
      };
      this.#engine.on('event', onEvent);
    });
    if (conn) return { id, conn };
    const view = this.#views().find((h) => h.id === id);
    throw new ApiError(
      409,
      'not_connected',
      `${id} is not connected (${view?.state ?? 'removed'}${view?.error ? `: ${view.error}` : ''}); see port-linker ls`,
    );
  }

  #onEvent(e: EngineEvent): void {
    const line = describeEvent(e);
    if (line) this.#log.write(line.level, line.message, e.host);
    this.#history.record(e);
    // the first latency figure soon after a (re)connection, not at the next interval
    // (that host only: a check of every host per connection is n² channels when 100 hosts connect at once)
    if (e.event === 'connected') setTimeout(() => this.#engine.check(e.host, 'connected'), 1000).unref();
    this.#feed.event(e);
    const data = `data: ${JSON.stringify(e)}\n\n`;
    for (const res of this.#streams) res.write(data);
  }

  #views(): HostView[] {
    return this.#engine.snapshot().map(({ host, ...rest }) => {
      const spec = this.#specs.get(host) as HostSpec;
      return {
        id: host,
        target: spec.target,
        ...(spec.profile ? { profile: spec.profile } : {}),
        ...rest,
        spec,
        history: this.#history.of(host),
      };
    });
  }

  async #addHost(body: unknown): Promise<{ created: boolean; changed: boolean; host: HostView }> {
    let spec: HostSpec;
    try {
      spec = parseHostSpec(body);
    } catch (err) {
      throw new ApiError(400, 'bad_host', (err as Error).message);
    }
    const old = this.#specs.get(spec.id);
    const view = () => this.#views().find((h) => h.id === spec.id) as HostView;
    const failed = this.#engine.snapshot().find((h) => h.host === spec.id)?.state === 'failed';
    if (old && sameSpec(old, spec) && !failed) return { created: false, changed: false, host: view() };
    if (old) {
      await this.#engine.removeHost(spec.id);
      this.#specs.delete(spec.id);
    }
    try {
      this.#run(spec);
    } catch (err) {
      throw new ApiError(400, 'bad_host', (err as Error).message.split('\n')[0] ?? String(err));
    }
    try {
      this.#state.put(spec.id, spec);
    } catch (err) {
      // not saved, so not run either: the daemon stays as the database has it (an `up` once it can save saves it)
      await this.#engine.removeHost(spec.id);
      this.#specs.delete(spec.id);
      if (old) {
        try {
          this.#run(old);
        } catch (again) {
          this.#log.write('error', `cannot run ${old.id} again: ${(again as Error).message}`, old.id);
        }
      }
      throw this.#stateFailure(err, `saving ${spec.id}`);
    }
    this.#stateSaved();
    this.#log.write('info', `${old ? 'updated' : 'added'} ${spec.id} (${spec.target})`, spec.id);
    return { created: !old, changed: true, host: view() };
  }

  async #removeHost(id: string): Promise<{ removed: string }> {
    if (!this.#specs.has(id)) throw new ApiError(404, 'no_host', `no host ${id} in the daemon (see port-linker ls)`);
    try {
      this.#state.delete(id);
    } catch (err) {
      throw this.#stateFailure(err, `removing ${id}`);
    }
    this.#stateSaved();
    this.#specs.delete(id);
    await this.#engine.removeHost(id);
    this.#history.forget(id);
    this.#feed.changed();
    this.#log.write('info', `removed ${id}`, id);
    return { removed: id };
  }

  #routes(): Route[] {
    return [
      {
        method: 'GET',
        path: /^\/v1\/status$/,
        handler: async () => ({
          version: this.#version,
          api: API_VERSION,
          pid: process.pid,
          started_at: new Date(this.#startedAt).toISOString(),
          state_dir: this.#paths.stateDir,
          socket: this.#paths.socket,
          schema: DesiredState.version,
          ...(this.#apiAddress ? { api_address: `${this.#apiAddress.host}:${this.#apiAddress.port}` } : {}),
          hosts: this.#specs.size,
        }),
      },
      { method: 'GET', path: /^\/v1\/hosts$/, handler: async () => ({ hosts: this.#views() }) },
      { method: 'GET', path: /^\/v1\/connections$/, handler: async () => ({ connections: this.#pool.list() }) },
      {
        method: 'POST',
        path: /^\/v1\/copy$/,
        streams: true,
        handler: async (req, res, body) =>
          serveCopy(req, res, body, this.#pool, (msg, host) => this.#log.write('info', msg, host)),
      },
      { method: 'POST', path: /^\/v1\/hosts$/, handler: async (_q, _s, body) => this.#addHost(body) },
      {
        method: 'DELETE',
        path: /^\/v1\/hosts\/([^/]+)$/,
        handler: async (_q, _s, _b, [id]) => this.#removeHost(id as string),
      },
      {
        method: 'POST',
        path: /^\/v1\/hosts\/([^/]+)\/disconnect$/,
        handler: async (_q, _s, _b, [id]) => this.#removeHost(id as string),
      },
      {
        method: 'POST',
        path: /^\/v1\/hosts\/([^/]+)\/forwards$/,
        handler: async (_q, _s, body, [id]) => this.#addForward(id as string, body),
      },
      {
        method: 'DELETE',
        path: /^\/v1\/hosts\/([^/]+)\/forwards\/([^/]+)$/,
        handler: async (_q, _s, _b, [id, key]) => this.#removeForward(id as string, key as string),
      },
      {
        method: 'POST',
        path: /^\/v1\/hosts\/([^/]+)\/forwards\/([^/]+)\/(stop|start|restart)$/,
        handler: async (_q, _s, _b, [id, key, action]) => this.#forwardAction(id as string, key as string, action),
      },
      {
        method: 'GET',
        path: /^\/v1\/forwards$/,
        handler: async () => ({
          forwards: this.#engine.snapshot().flatMap((h) => h.forwards.map((f) => ({ host: h.host, ...f }))),
        }),
      },
      {
        method: 'GET',
        path: /^\/v1\/events$/,
        streams: true,
        handler: async (req, res) => {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
          res.write(': port-linker events v1\n\n');
          this.#streams.add(res);
          const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
          req.socket.setTimeout(0);
          res.on('close', () => {
            clearInterval(ping);
            this.#streams.delete(res);
          });
        },
      },
      {
        method: 'GET',
        path: /^\/v1\/dashboard\/stream$/,
        streams: true,
        handler: async (req, res) => this.#feed.open(req, res),
      },
      ...this.#registryRoutes(),
      {
        method: 'POST',
        path: /^\/v1\/dashboard$/,
        handler: async () => {
          const d = await this.#startDashboard();
          const { code, expiresInMs } = d.newCode();
          return { url: d.url, code, expires_in_seconds: expiresInMs / 1000 };
        },
      },
      {
        method: 'POST',
        path: /^\/v1\/shutdown$/,
        handler: async () => {
          setImmediate(() => void this.stop());
          return { stopping: true, pid: process.pid };
        },
      },
    ];
  }

  /** `POST /v1/hosts/{id}/forwards {"forward": "8080:localhost:80"}`: a `-L` forward, kept across restarts. */
  async #addForward(id: string, body: unknown): Promise<{ created: boolean; key: string }> {
    const spec = this.#specs.get(id);
    if (!spec) throw new ApiError(404, 'no_host', `no host ${id} in the daemon (see port-linker ls)`);
    const text = (body as { forward?: unknown } | undefined)?.forward;
    if (typeof text !== 'string' || text.length === 0 || text.length > 4096)
      throw new ApiError(400, 'bad_forward', 'send {"forward": "[bind:]port:host:hostport"} (the -L syntax)');
    let key: string;
    try {
      parseLocalForward(text);
      key = await this.#engine.addForward(id, text);
    } catch (err) {
      throw new ApiError(400, 'bad_forward', (err as Error).message.split('\n')[0] ?? String(err));
    }
    const created = !spec.local_forwards.includes(text);
    if (created) {
      const next = { ...spec, local_forwards: [...spec.local_forwards, text] };
      try {
        this.#state.put(id, next);
      } catch (err) {
        await this.#engine.removeForward(id, key);
        throw this.#stateFailure(err, `saving a forward of ${id}`);
      }
      this.#stateSaved();
      this.#specs.set(id, next);
      this.#log.write('info', `added forward ${text}`, id);
    }
    this.#feed.changed();
    return { created, key };
  }

  /** `DELETE /v1/hosts/{id}/forwards/{key or -L text}`. */
  async #removeForward(id: string, keyOrText: string): Promise<{ removed: string }> {
    const spec = this.#specs.get(id);
    if (!spec) throw new ApiError(404, 'no_host', `no host ${id} in the daemon (see port-linker ls)`);
    const keyOf = (t: string) => {
      try {
        return parseLocalForward(t).key;
      } catch {
        return t;
      }
    };
    const key = keyOf(keyOrText);
    const kept = spec.local_forwards.filter((t) => t !== keyOrText && keyOf(t) !== key);
    const next = { ...spec, local_forwards: kept };
    if (kept.length !== spec.local_forwards.length) {
      // saved before it is stopped: a removal the database refused changes nothing
      try {
        this.#state.put(id, next);
      } catch (err) {
        throw this.#stateFailure(err, `removing a forward of ${id}`);
      }
      this.#stateSaved();
    }
    const removed = await this.#engine.removeForward(id, keyOrText);
    if (!removed && kept.length === spec.local_forwards.length)
      throw new ApiError(404, 'no_forward', `${id} has no explicit forward ${keyOrText} (see port-linker ls)`);
    this.#specs.set(id, next);
    this.#log.write('info', `removed forward ${keyOrText}`, id);
    this.#feed.changed();
    return { removed: keyOrText };
  }

  async #forwardAction(id: string, key: string, action = ''): Promise<{ key: string; action: string }> {
    if (!this.#specs.has(id)) throw new ApiError(404, 'no_host', `no host ${id} in the daemon (see port-linker ls)`);
    const done =
      action === 'stop'
        ? await this.#engine.stopForward(id, key)
        : action === 'start'
          ? await this.#engine.startForward(id, key)
          : await this.#engine.restartForward(id, key);
    if (!done)
      throw new ApiError(
        404,
        'no_forward',
        action === 'start' ? `${id} has no stopped forward ${key}` : `${id} has no forward ${key} running`,
      );
    this.#log.write('info', `${action} forward ${key}`, id);
    this.#feed.changed();
    return { key, action };
  }

  /** What the dashboard shows: the same host and lease objects as `GET /v1/hosts` and `GET /v1/list`. */
  #dashboardState(): DashboardState {
    return { version: this.#version, hosts: this.#views(), leases: this.#leaseList() };
  }

  /** The live leases; while the database cannot be read, the last ones read (the dashboard's timer must not throw). */
  #leaseList(): Lease[] {
    try {
      this.#lastLeases = this.#leases.list();
    } catch (err) {
      this.#stateFailure(err, 'reading the leases');
    }
    return this.#lastLeases;
  }

  /**
   * A state database failure as the API answers it (503, 507 for a full disk: what is wrong and what to do), logged
   * once when it starts; an error that is not the database's is returned as it is.
   */
  #stateFailure(err: unknown, doing: string): unknown {
    const api = stateApiError(err, this.#paths.db);
    if (!api) return err;
    if (this.#stateTrouble?.code !== api.code) {
      this.#stateTrouble = { code: api.code, since: Date.now(), last: 0, failures: 0 };
      this.#log.write('error', `${doing} failed: ${api.message}`);
    }
    this.#stateTrouble.failures++;
    this.#stateTrouble.last = Date.now();
    return api;
  }

  /** A write went through: the end of a failure is logged (the log may not have been writable meanwhile). */
  #stateSaved(): void {
    const t = this.#stateTrouble;
    if (!t) return;
    this.#stateTrouble = undefined;
    this.#log.write(
      'info',
      `the state database ${this.#paths.db} saves again (${t.failures} failed ${t.failures === 1 ? 'try' : 'tries'} since ${new Date(t.since).toISOString()}: ${t.code})`,
    );
  }

  /** A registry request: a state database failure answered as 503/507, and a write that went through noted. */
  async #registry<T>(fn: () => T | Promise<T>, writes: boolean): Promise<T> {
    try {
      const result = await fn();
      if (writes) this.#stateSaved();
      return result;
    } catch (err) {
      throw this.#stateFailure(err, 'a registry request');
    }
  }

  /** The dashboard's loopback listener, started on first use. */
  #startDashboard(): Promise<DashboardServer> {
    this.#dashboard ??= (async () => {
      // what the page reads and the actions it offers, each named by a path it must match; nothing else is served
      const allowed = [
        'GET /v1/status',
        'GET /v1/hosts',
        'GET /v1/forwards',
        'GET /v1/list',
        'GET /v1/lookup',
        'GET /v1/dashboard/stream',
        'POST /v1/hosts',
        'POST /v1/hosts/h/disconnect',
        'POST /v1/hosts/h/forwards/k/stop',
        'POST /v1/release',
      ].map((line) => line.split(' ') as [string, string]);
      const routes = this.#routes().filter((r) => allowed.some(([m, p]) => r.method === m && r.path.test(p)));
      const d = await DashboardServer.listen(this.#dashboardAddress, routes, (msg) => this.#log.write('error', msg));
      this.#log.write('info', `dashboard on ${d.url}`);
      return d;
    })();
    this.#dashboard.catch(() => {
      this.#dashboard = undefined;
    });
    return this.#dashboard;
  }

  /** The local port registry, PortManager's API: under /v1/ and at PortManager's own unversioned paths. */
  #registryRoutes(): Route[] {
    const obj = (body: unknown): Record<string, unknown> => {
      if (body === null || typeof body !== 'object' || Array.isArray(body))
        throw new ApiError(400, 'bad_body', 'the body must be a JSON object');
      return body as Record<string, unknown>;
    };
    const routes: Array<Omit<Route, 'path'> & { name: string }> = [
      {
        method: 'POST',
        name: 'alloc',
        handler: async (_q, _s, body) => {
          const lease = await this.#registry(() => this.#leases.alloc(obj(body)), true);
          this.#feed.changed();
          this.#log.write('info', `leased port ${lease.port} to ${lease.service_name} for ${lease.ttl_seconds} s`);
          return { port: lease.port, lease };
        },
      },
      {
        method: 'POST',
        name: 'release',
        handler: async (_q, _s, body) => {
          const released = await this.#registry(() => this.#leases.release(obj(body)), true);
          this.#feed.changed();
          for (const l of released) this.#log.write('info', `released port ${l.port} of ${l.service_name}`);
          return { released: released.map((l) => l.port), leases: released };
        },
      },
      {
        method: 'POST',
        name: 'heartbeat',
        handler: async (_q, _s, body) => ({
          lease: await this.#registry(() => this.#leases.heartbeat(obj(body).port), true),
        }),
      },
      {
        method: 'GET',
        name: 'list',
        handler: async () => ({ leases: await this.#registry(() => this.#leases.list(), false) }),
      },
      {
        method: 'GET',
        name: 'lookup',
        handler: async (req) => {
          const service = new URL(req.url ?? '/', 'http://daemon').searchParams.get('service');
          if (!service) throw new ApiError(400, 'bad_service', 'ask for a service: /v1/lookup?service=NAME');
          const leases = await this.#registry(() => this.#leases.list(), false);
          return lookupService(service, leases, this.#engine.snapshot());
        },
      },
    ];
    return routes.flatMap(({ name, ...r }) => [
      { ...r, path: new RegExp(`^/v1/${name}$`) },
      { ...r, path: new RegExp(`^/${name}$`) },
    ]);
  }
}
