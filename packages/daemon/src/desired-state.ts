import { chmodSync, closeSync, existsSync, openSync, renameSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import type { HostSpec } from './host-spec.ts';
import { isCorrupt, sqliteCode } from './state-error.ts';

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

/** A damaged database file found at start: moved aside, and a new one started with what could still be read. */
export interface StateRecovery {
  /** Where the damaged file went (its -wal and -shm files next to it, with the same suffixes). */
  movedTo: string;
  /** What SQLite said about it. */
  reason: string;
  /** Rows read out of it into the new database. */
  hosts: number;
  leases: number;
}

/** The tables (and columns) a damaged file is read for, each as far as SQLite can still read it. */
const SALVAGED = {
  hosts: ['id', 'spec', 'added_at'],
  leases: ['port', 'service', 'ttl_ms', 'created_at', 'expires_at', 'pid'],
} as const;

/**
 * What the daemon should be running, in SQLite (WAL) in the state dir: every host it was asked for, with its
 * options, so a restart or a crash (`kill -9`) restores them all. Local ports are remembered separately by the
 * engine's sticky ports. A file that is damaged or not a database (`PRAGMA quick_check` at open) is moved aside to
 * `state.db.corrupt-<time>` and a new one started with the rows still readable (`recovered` says so); one that
 * another process holds locked, or any other failure to open, is a one-line error naming the file.
 */
export class DesiredState {
  readonly #db: DatabaseSync;
  /** Set when the file was damaged and replaced at open. */
  readonly recovered: StateRecovery | undefined;

  constructor(path: string) {
    try {
      this.#db = DesiredState.#open(path);
    } catch (err) {
      if (path === ':memory:' || !isCorrupt(err)) throw openError(err, path);
      const rows = salvage(path);
      const movedTo = `${path}.corrupt-${new Date().toISOString().replaceAll(':', '-').slice(0, 23)}`;
      for (const suffix of ['', '-wal', '-shm'])
        if (existsSync(path + suffix)) renameSync(path + suffix, movedTo + suffix);
      try {
        this.#db = DesiredState.#open(path);
      } catch (again) {
        throw openError(again, path);
      }
      let hosts = 0;
      let leases = 0;
      for (const [table, list] of rows) {
        const cols = SALVAGED[table];
        const insert = this.#db.prepare(
          `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
        );
        for (const row of list) {
          try {
            insert.run(...(cols.map((c) => row[c]) as Array<string | number | null>));
            if (table === 'hosts') hosts++;
            else leases++;
          } catch {
            // a row the damage garbled (a wrong type, a repeated key): left in the moved file
          }
        }
      }
      this.recovered = { movedTo, reason: (err as Error).message.replace(/\s+/g, ' '), hosts, leases };
    }
  }

  /** Opens (creating it 0600) and checks `path`, at the current schema; the handle is closed when that fails. */
  static #open(path: string): DatabaseSync {
    if (path !== ':memory:') {
      // private whatever the umask or the directory's mode (SQLite gives its -wal and -shm files the same mode)
      closeSync(openSync(path, 'a', 0o600));
      chmodSync(path, 0o600);
    }
    const db = new DatabaseSync(path);
    try {
      // the daemon is this file's only writer: another process holding a lock (a sqlite3 shell) must not freeze its
      // event loop for long (node:sqlite is synchronous), the API answers 503 instead
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 250');
      const check = db.prepare('PRAGMA quick_check(1)').get() as { quick_check: string } | undefined;
      if (check?.quick_check !== 'ok')
        throw Object.assign(new Error(`database disk image is malformed (${check?.quick_check})`), {
          code: 'ERR_SQLITE_ERROR',
          errcode: 11,
        });
      migrate(db);
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** The open database, for the other tables of the state dir (the registry's leases). */
  get database(): DatabaseSync {
    return this.#db;
  }

  /** The schema version this build writes. */
  static readonly version = MIGRATIONS.length;

  /** The saved hosts; a row whose spec is not a JSON object (damage inside a row) is skipped and reported. */
  hosts(onUnreadable: (id: string, reason: string) => void = () => {}): DesiredHost[] {
    const rows = this.#db.prepare('SELECT id, spec, added_at FROM hosts ORDER BY added_at, id').all() as Array<{
      id: string;
      spec: string;
      added_at: number;
    }>;
    return rows.flatMap((r) => {
      let spec: unknown;
      try {
        spec = JSON.parse(r.spec);
      } catch (err) {
        onUnreadable(r.id, `its saved spec is not JSON (${(err as Error).message})`);
        return [];
      }
      if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
        onUnreadable(r.id, 'its saved spec is not a JSON object');
        return [];
      }
      return [{ id: r.id, spec: spec as HostSpec, addedAt: r.added_at }];
    });
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

function migrate(db: DatabaseSync): void {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number };
  const from = row.user_version;
  if (from > MIGRATIONS.length) {
    throw new Error(
      `the state database is schema version ${from}, newer than this port-linker knows (${MIGRATIONS.length}): upgrade port-linker`,
    );
  }
  for (let v = from; v < MIGRATIONS.length; v++) {
    db.exec('BEGIN');
    try {
      db.exec(MIGRATIONS[v] as string);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }
}

/** The rows of a damaged file SQLite can still read, table by table (none of a table it cannot read at all). */
function salvage(path: string): Array<[keyof typeof SALVAGED, Array<Record<string, unknown>>]> {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: true });
  } catch {
    return [];
  }
  try {
    return (Object.keys(SALVAGED) as Array<keyof typeof SALVAGED>).map((table) => {
      // row by row: the rows before a damaged page are kept
      const rows: Array<Record<string, unknown>> = [];
      try {
        for (const row of db.prepare(`SELECT ${SALVAGED[table].join(', ')} FROM ${table}`).iterate()) rows.push(row);
      } catch {}
      return [table, rows];
    });
  } finally {
    db.close();
  }
}

/** A failure to open the state database as one line naming it and, when it is another process's lock, what to do. */
function openError(err: unknown, path: string): Error {
  const code = sqliteCode(err);
  if (code === undefined) return err as Error;
  const what = (err as Error).message;
  if (code === 5 || code === 6)
    return new Error(
      `the state database ${path} is locked by another process (${what}): let it finish (a sqlite3 shell in a transaction?), then start again`,
    );
  return new Error(`cannot open the state database ${path}: ${what}`, { cause: err });
}
