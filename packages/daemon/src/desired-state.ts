import { chmodSync, closeSync, openSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import type { HostSpec } from './host-spec.ts';

/**
 * Schema migrations, in order: entry i takes the database from version i to i + 1 (`PRAGMA user_version`). Never edit
 * a shipped one; append.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE hosts (
     id TEXT PRIMARY KEY,
     spec TEXT NOT NULL,
     added_at INTEGER NOT NULL
   ) STRICT`,
  // the local port registry (lease-registry.ts): times in ms since the epoch
  `CREATE TABLE leases (
     port INTEGER PRIMARY KEY,
     service TEXT NOT NULL,
     ttl_ms INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     pid INTEGER
   ) STRICT;
   CREATE INDEX leases_service ON leases (service);
   CREATE INDEX leases_expiry ON leases (expires_at)`,
];

/** One host the daemon should run. */
export interface DesiredHost {
  id: string;
  spec: HostSpec;
  addedAt: number;
}

/**
 * What the daemon should be running, in SQLite (WAL) in the state dir: every host it was asked for, with its
 * options, so a restart or a crash (`kill -9`) restores them all. Local ports are remembered separately by the
 * engine's sticky ports.
 */
export class DesiredState {
  readonly #db: DatabaseSync;

  constructor(path: string) {
    if (path !== ':memory:') {
      // private whatever the umask or the directory's mode (SQLite gives its -wal and -shm files the same mode)
      closeSync(openSync(path, 'a', 0o600));
      chmodSync(path, 0o600);
    }
    this.#db = new DatabaseSync(path);
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 2000');
    this.#migrate();
  }

  /** The open database, for the other tables of the state dir (the registry's leases). */
  get database(): DatabaseSync {
    return this.#db;
  }

  /** The schema version this build writes. */
  static readonly version = MIGRATIONS.length;

  #migrate(): void {
    const row = this.#db.prepare('PRAGMA user_version').get() as { user_version: number };
    const from = row.user_version;
    if (from > MIGRATIONS.length) {
      throw new Error(
        `the state database is schema version ${from}, newer than this port-linker knows (${MIGRATIONS.length}): upgrade port-linker`,
      );
    }
    for (let v = from; v < MIGRATIONS.length; v++) {
      this.#db.exec('BEGIN');
      try {
        this.#db.exec(MIGRATIONS[v] as string);
        this.#db.exec(`PRAGMA user_version = ${v + 1}`);
        this.#db.exec('COMMIT');
      } catch (err) {
        this.#db.exec('ROLLBACK');
        throw err;
      }
    }
  }

  hosts(): DesiredHost[] {
    const rows = this.#db.prepare('SELECT id, spec, added_at FROM hosts ORDER BY added_at, id').all() as Array<{
      id: string;
      spec: string;
      added_at: number;
    }>;
    return rows.map((r) => ({ id: r.id, spec: JSON.parse(r.spec) as HostSpec, addedAt: r.added_at }));
  }

  /** Adds or replaces a host (keeps its place in the order when replaced). */
  put(id: string, spec: HostSpec, now = Date.now()): void {
    this.#db
      .prepare(
        'INSERT INTO hosts (id, spec, added_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET spec = excluded.spec',
      )
      .run(id, JSON.stringify(spec), now);
  }

  delete(id: string): boolean {
    return Number(this.#db.prepare('DELETE FROM hosts WHERE id = ?').run(id).changes) > 0;
  }

  close(): void {
    this.#db.close();
  }
}
