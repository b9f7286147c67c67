import {
  connect,
  type LogFn,
  parseTarget,
  passwordFilePrompter,
  resolveHost,
  type SshConnection,
} from '@port-linker/ssh';
import { ApiError } from './api-error.ts';

/** How to reach a target the daemon does not hold yet (the fields of `exec`, `cp` and `test`). */
export interface PoolTarget {
  target: string;
  identities?: string[];
  ssh_config?: string;
  ssh_options?: string[];
  jump?: string;
  password_file?: string;
  /** Seconds the connection stays open after its last channel closes (0: closed at once), like ControlPersist. */
  persist?: number;
}

/** A connection lent to one request: `release()` when its channels are closed. */
export interface Lease {
  /** The daemon's name of the connection: the host's id, or the target of an on-demand one. */
  id: string;
  conn: SshConnection;
  /** It was opened for this request. */
  opened: boolean;
  release(): void;
}

/** One on-demand connection, as `GET /v1/connections` shows it. */
export interface PooledView {
  id: string;
  target: string;
  users: number;
  opened_at: string;
  /** When it closes unless used again (absent while in use). */
  expires_at?: string;
}

interface Entry {
  key: string;
  id: string;
  target: string;
  conn: Promise<SshConnection>;
  users: number;
  persistMs: number;
  openedAt: number;
  timer?: NodeJS.Timeout;
  expiresAt?: number;
}

/** The most sessions (exec, SFTP) open at once on one connection: OpenSSH's MaxSessions is 10 by default. */
export const SESSIONS_PER_CONNECTION = 8;

/** At most `limit` holders at once; the rest wait in order. */
class Gate {
  #free: number;
  readonly #waiting: Array<() => void> = [];
  constructor(limit: number) {
    this.#free = limit;
  }
  async enter(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }
}

/**
 * The connections other tools ride on (`exec`, `cp`, the client library): a host the daemon runs lends its own
 * connection; any other target gets one opened on demand and kept `persist` seconds after its last use. Sessions on
 * one connection are bounded (SESSIONS_PER_CONNECTION) and queue beyond that, so a burst of commands never meets
 * the server's MaxSessions refusal.
 */
export class ConnectionPool {
  readonly #entries = new Map<string, Entry>();
  readonly #gates = new WeakMap<SshConnection, Gate>();
  readonly #home: string | undefined;
  readonly #log: (level: 'info' | 'warn' | 'debug', msg: string, host?: string) => void;
  readonly #held: (target: string) => Promise<{ id: string; conn: SshConnection } | undefined>;
  #closed = false;

  constructor(options: {
    home?: string;
    log: (level: 'info' | 'warn' | 'debug', msg: string, host?: string) => void;
    /** A host the daemon runs, by id or target (waits for it while it connects); undefined: none. */
    held: (target: string) => Promise<{ id: string; conn: SshConnection } | undefined>;
  }) {
    this.#home = options.home;
    this.#log = options.log;
    this.#held = options.held;
  }

  /** A connection to `t` (the daemon's own for a host it runs), and a session slot on it. */
  async acquire(t: PoolTarget): Promise<Lease> {
    if (this.#closed) throw new ApiError(503, 'stopping', 'the daemon is stopping');
    const held = await this.#held(t.target);
    if (held) return { ...held, opened: false, ...(await this.#slot(held.conn)) };
    // one connection per target, whatever options a later request gives (as ControlPath's %C names one master)
    const key = t.target;
    let entry = this.#entries.get(key);
    let opened = false;
    if (!entry || (await entry.conn.then((c) => c.closed).catch(() => true))) {
      entry = this.#open(key, t);
      opened = true;
    }
    entry.persistMs = Math.max(entry.persistMs, (t.persist ?? 0) * 1000);
    entry.users++;
    clearTimeout(entry.timer);
    delete entry.expiresAt;
    let conn: SshConnection;
    try {
      conn = await entry.conn;
    } catch (err) {
      this.#drop(entry);
      throw err;
    }
    const e = entry;
    const slot = await this.#slot(conn);
    let released = false;
    return {
      id: e.id,
      conn,
      opened,
      release: () => {
        if (released) return;
        released = true;
        slot.release();
        e.users--;
        if (e.users === 0) this.#idle(e);
      },
    };
  }

  /** The on-demand connections. */
  list(): PooledView[] {
    return [...this.#entries.values()].map((e) => ({
      id: e.id,
      target: e.target,
      users: e.users,
      opened_at: new Date(e.openedAt).toISOString(),
      ...(e.expiresAt === undefined ? {} : { expires_at: new Date(e.expiresAt).toISOString() }),
    }));
  }

  /** Closes every on-demand connection. */
  close(): void {
    this.#closed = true;
    for (const e of this.#entries.values()) this.#drop(e);
  }

  async #slot(conn: SshConnection): Promise<{ release: () => void }> {
    let gate = this.#gates.get(conn);
    if (!gate) {
      gate = new Gate(SESSIONS_PER_CONNECTION);
      this.#gates.set(conn, gate);
    }
    return { release: await gate.enter() };
  }

  #open(key: string, t: PoolTarget): Entry {
    let resolved: ReturnType<typeof resolveHost>;
    try {
      resolved = resolveHost(
        parseTarget(t.target),
        {
          ...(t.ssh_config ? { configFile: t.ssh_config } : {}),
          identities: t.identities ?? [],
          ...(t.jump ? { jump: t.jump } : {}),
          options: t.ssh_options ?? [],
        },
        this.#home ? { home: this.#home } : {},
      );
    } catch (err) {
      throw new ApiError(400, 'bad_target', (err as Error).message.split('\n')[0] ?? String(err));
    }
    let prompt: ReturnType<typeof passwordFilePrompter> | undefined;
    if (t.password_file) {
      try {
        prompt = passwordFilePrompter(t.password_file);
      } catch (err) {
        throw new ApiError(400, 'bad_password_file', (err as Error).message);
      }
    }
    const log: LogFn = (level, msg) => {
      this.#log(level === 'error' ? 'warn' : level, msg, t.target);
    };
    const conn = connect(resolved, { log, ...(prompt ? { prompt } : {}) }).catch((err: Error) => {
      const code = (err as { code?: string }).code;
      throw new ApiError(
        code === 'AUTH' || code === 'HOST_KEY' ? 403 : 502,
        code === 'AUTH' ? 'auth_failed' : code === 'HOST_KEY' ? 'host_key' : 'connect_failed',
        err.message.split('\n')[0] ?? String(err),
      );
    });
    const entry: Entry = { key, id: t.target, target: t.target, conn, users: 0, persistMs: 0, openedAt: Date.now() };
    const old = this.#entries.get(key);
    if (old) this.#drop(old);
    this.#entries.set(key, entry);
    void conn.then(
      (c) => {
        this.#log('info', `opened a pooled connection to ${t.target}`, t.target);
        c.once('close', (why: string) => {
          if (this.#entries.get(key) === entry) this.#entries.delete(key);
          this.#log('info', `pooled connection to ${t.target} closed: ${why}`, t.target);
        });
      },
      () => {},
    );
    return entry;
  }

  #idle(e: Entry): void {
    if (e.persistMs <= 0) {
      this.#drop(e);
      return;
    }
    e.expiresAt = Date.now() + e.persistMs;
    e.timer = setTimeout(() => this.#drop(e), e.persistMs);
    e.timer.unref();
  }

  #drop(e: Entry): void {
    clearTimeout(e.timer);
    if (this.#entries.get(e.key) === e) this.#entries.delete(e.key);
    void e.conn.then(
      (c) => c.close(),
      () => {},
    );
  }
}
