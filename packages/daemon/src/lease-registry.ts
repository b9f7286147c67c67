import { createServer } from 'node:net';
import type { DatabaseSync } from 'node:sqlite';
import { ApiError } from './api-error.ts';

/** One lease, in PortManager's field names (the REST bodies and `leases --json`). */
export interface Lease {
  port: number;
  service_name: string;
  ttl_seconds: number;
  /** ISO times. */
  created_at: string;
  expires_at: string;
  /** The process the lease is for (`run`), when known. */
  pid?: number;
}

export interface LeaseRegistryOptions {
  /** Ports leases come from, inclusive (default 8000-8999). */
  range?: readonly [number, number];
  /** A local port held by something the daemon runs (a mirrored forward): never leased. */
  isHeld?: (port: number) => boolean;
  /** Whether a port is free to bind on every loopback address right now (default: bind 127.0.0.1 and ::1). */
  isFree?: (port: number) => Promise<boolean>;
  now?: () => number;
  /** Whether the process a lease names still runs (default: signal 0); a lease of a gone process is freed. */
  isAlive?: (pid: number) => boolean;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The default range of leased ports. */
export const LEASE_RANGE: readonly [number, number] = [8000, 8999];
/** `FROM-TO` (the daemon's PORT_LINKER_LEASE_RANGE) as a range; throws a one-line error on anything else. */
export function parseLeaseRange(text: string): readonly [number, number] {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text.trim());
  const from = Number(m?.[1]);
  const to = Number(m?.[2]);
  if (!m || from < 1 || to > 65535 || from > to)
    throw new Error(`PORT_LINKER_LEASE_RANGE=${text}: expected FROM-TO with 1 <= FROM <= TO <= 65535 (like 8000-8999)`);
  return [from, to];
}

/** A lease's TTL when none is asked for. */
export const DEFAULT_TTL_SECONDS = 300;
const MAX_TTL_SECONDS = 30 * 24 * 3600;

interface Row {
  port: number;
  service: string;
  ttl_ms: number;
  created_at: number;
  expires_at: number;
  pid: number | null;
}

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'EADDRNOTAVAIL' || err.code === 'EAFNOSUPPORT'),
    );
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Free on 127.0.0.1 and on ::1 (where the machine has IPv6), as a server about to bind it needs. */
export async function loopbackFree(port: number): Promise<boolean> {
  return (await bindable(port, '127.0.0.1')) && (await bindable(port, '::1'));
}

/** A service name as users type it: letters, digits and `._:-`, up to 100 characters. */
export function checkServiceName(name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9][\w.:-]{0,99}$/.test(name))
    throw new ApiError(
      400,
      'bad_service',
      `service_name must be 1-100 letters, digits or ._:- starting with a letter or digit (got ${JSON.stringify(name)})`,
    );
  return name;
}

function checkTtl(ttl: unknown): number {
  if (ttl === undefined) return DEFAULT_TTL_SECONDS;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS)
    throw new ApiError(400, 'bad_ttl', `ttl_seconds must be a whole number from 1 to ${MAX_TTL_SECONDS}`);
  return ttl;
}

export function checkPort(port: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new ApiError(400, 'bad_port', `port must be a whole number from 1 to 65535 (got ${JSON.stringify(port)})`);
  return port;
}

/**
 * The local port registry (PortManager's job): leases of free local ports with a TTL renewed by heartbeats, in the
 * daemon's SQLite database so they outlive a restart or a crash. Allocations are serialised, so two concurrent
 * `alloc`s never get the same port; a port is leased only when nothing is bound to it on loopback and no mirrored
 * forward holds it.
 */
export class LeaseRegistry {
  readonly #db: DatabaseSync;
  readonly #range: readonly [number, number];
  readonly #isHeld: (port: number) => boolean;
  readonly #isFree: (port: number) => Promise<boolean>;
  readonly #now: () => number;
  readonly #isAlive: (pid: number) => boolean;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(db: DatabaseSync, options: LeaseRegistryOptions = {}) {
    this.#db = db;
    this.#range = options.range ?? LEASE_RANGE;
    this.#isHeld = options.isHeld ?? (() => false);
    this.#isFree = options.isFree ?? loopbackFree;
    this.#now = options.now ?? Date.now;
    this.#isAlive = options.isAlive ?? processAlive;
  }

  /**
   * Frees expired leases (cheap: an indexed read, and a delete only when one expired; done before every read);
   * returns them.
   */
  expire(): Lease[] {
    const now = this.#now();
    // a read first: a write takes the database's lock (which another process may hold) only when there is one to free
    if (!this.#db.prepare('SELECT 1 FROM leases WHERE expires_at <= ? LIMIT 1').get(now)) return [];
    const rows = this.#db.prepare('DELETE FROM leases WHERE expires_at <= ? RETURNING *').all(now);
    return (rows as unknown as Row[]).map(toLease);
  }

  /** expire() before a read: when the database cannot be written now (locked, full) the read leaves expired out. */
  #expireForRead(): number {
    try {
      this.expire();
    } catch {
      // the daemon's sweep reports it
    }
    return this.#now();
  }

  /** expire(), and frees the leases of processes that are gone (a `run` killed with -9): the daemon's sweep. */
  sweep(): Lease[] {
    const gone = this.expire();
    const owned = this.#db.prepare('SELECT * FROM leases WHERE pid IS NOT NULL').all() as unknown as Row[];
    const del = this.#db.prepare('DELETE FROM leases WHERE port = ?');
    for (const r of owned) {
      if (r.pid !== null && !this.#isAlive(r.pid)) {
        del.run(r.port);
        gone.push(toLease(r));
      }
    }
    return gone;
  }

  /** A new lease for `service`: `port` when asked for (and free), else the lowest free port of the range. */
  async alloc(request: {
    service_name?: unknown;
    ttl_seconds?: unknown;
    port?: unknown;
    pid?: unknown;
  }): Promise<Lease> {
    const service = checkServiceName(request.service_name);
    const ttl = checkTtl(request.ttl_seconds);
    const wanted = request.port === undefined ? undefined : checkPort(request.port);
    const pid = typeof request.pid === 'number' && Number.isInteger(request.pid) ? request.pid : undefined;
    const next = this.#queue.then(() => this.#alloc(service, ttl, wanted, pid));
    this.#queue = next.catch(() => {});
    return next;
  }

  async #alloc(service: string, ttl: number, wanted: number | undefined, pid: number | undefined): Promise<Lease> {
    this.expire();
    const taken = new Set(
      (this.#db.prepare('SELECT port FROM leases').all() as Array<{ port: number }>).map((r) => r.port),
    );
    let port: number | undefined;
    if (wanted !== undefined) {
      if (taken.has(wanted))
        throw new ApiError(409, 'port_leased', `port ${wanted} is leased already (see port-linker leases)`);
      if (this.#isHeld(wanted) || !(await this.#isFree(wanted)))
        throw new ApiError(
          409,
          'port_busy',
          `port ${wanted} is in use on this machine; leave out --port to get a free one`,
        );
      port = wanted;
    } else {
      for (let p = this.#range[0]; p <= this.#range[1] && port === undefined; p++) {
        if (!taken.has(p) && !this.#isHeld(p) && (await this.#isFree(p))) port = p;
      }
      if (port === undefined)
        throw new ApiError(
          503,
          'no_free_port',
          `no free port in ${this.#range[0]}-${this.#range[1]}: release leases (port-linker leases) or widen the range`,
        );
    }
    const now = this.#now();
    this.#db
      .prepare('INSERT INTO leases (port, service, ttl_ms, created_at, expires_at, pid) VALUES (?, ?, ?, ?, ?, ?)')
      .run(port, service, ttl * 1000, now, now + ttl * 1000, pid ?? null);
    return this.#get(port) as Lease;
  }

  #get(port: number): Lease | undefined {
    const row = this.#db.prepare('SELECT * FROM leases WHERE port = ?').get(port) as unknown as Row | undefined;
    return row ? toLease(row) : undefined;
  }

  /** Renews a lease for its TTL. */
  heartbeat(port: unknown): Lease {
    const p = checkPort(port);
    this.expire();
    const now = this.#now();
    const changed = this.#db.prepare('UPDATE leases SET expires_at = ? + ttl_ms WHERE port = ?').run(now, p).changes;
    if (Number(changed) === 0)
      throw new ApiError(404, 'no_lease', `no lease on port ${p} (it expired or was released)`);
    return this.#get(p) as Lease;
  }

  /** Releases the lease on a port, or every lease of a service; returns what was released (404 when nothing). */
  release(request: { port?: unknown; service_name?: unknown }): Lease[] {
    this.expire();
    let rows: Row[];
    if (request.port !== undefined) {
      const p = checkPort(request.port);
      rows = this.#db.prepare('DELETE FROM leases WHERE port = ? RETURNING *').all(p) as unknown as Row[];
      if (rows.length === 0) throw new ApiError(404, 'no_lease', `no lease on port ${p}`);
    } else {
      const s = checkServiceName(request.service_name);
      rows = this.#db.prepare('DELETE FROM leases WHERE service = ? RETURNING *').all(s) as unknown as Row[];
      if (rows.length === 0) throw new ApiError(404, 'no_lease', `no lease for ${s} (see port-linker leases)`);
    }
    return rows.map(toLease);
  }

  /** Live leases, by port. */
  list(): Lease[] {
    const now = this.#expireForRead();
    return (
      this.#db.prepare('SELECT * FROM leases WHERE expires_at > ? ORDER BY port').all(now) as unknown as Row[]
    ).map(toLease);
  }

  /** Live leases of one service, oldest first. */
  of(service: string): Lease[] {
    const now = this.#expireForRead();
    return (
      this.#db
        .prepare('SELECT * FROM leases WHERE service = ? AND expires_at > ? ORDER BY created_at, port')
        .all(service, now) as unknown as Row[]
    ).map(toLease);
  }
}

function toLease(r: Row): Lease {
  return {
    port: r.port,
    service_name: r.service,
    ttl_seconds: Math.round(r.ttl_ms / 1000),
    created_at: new Date(r.created_at).toISOString(),
    expires_at: new Date(r.expires_at).toISOString(),
    ...(r.pid === null ? {} : { pid: r.pid }),
  };
}
