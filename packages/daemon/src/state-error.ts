import { ApiError } from './api-error.ts';

/** SQLite's primary result codes the daemon tells apart (node:sqlite's `errcode`, low byte of an extended code). */
const SQLITE = { busy: 5, locked: 6, corrupt: 11, full: 13, notadb: 26 } as const;

/** The SQLite result code of an error node:sqlite threw (its primary code), else undefined. */
export function sqliteCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; errcode?: unknown } | null;
  return e?.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number' ? e.errcode & 0xff : undefined;
}

/** The file is damaged or not a database at all: only moving it aside helps. */
export function isCorrupt(err: unknown): boolean {
  const code = sqliteCode(err);
  return code === SQLITE.corrupt || code === SQLITE.notadb;
}

/**
 * Why the state database could not be read or written, as the API says it (503, or 507 for a full disk), with what
 * to do; undefined when `err` is not a database error (a bug: the caller lets it through as a 500).
 */
export function stateApiError(err: unknown, path: string): ApiError | undefined {
  const code = sqliteCode(err);
  if (code === undefined) return undefined;
  const what = (err as { errstr?: unknown }).errstr ?? (err as Error).message;
  switch (code) {
    case SQLITE.busy:
    case SQLITE.locked:
      return new ApiError(
        503,
        'state_locked',
        `the state database ${path} is locked by another process (a sqlite3 shell in a transaction?); nothing was saved: retry once it lets go`,
      );
    case SQLITE.full:
      return new ApiError(
        507,
        'disk_full',
        `cannot save to the state database ${path}: the disk is full; nothing was saved: free space there and retry`,
      );
    case SQLITE.corrupt:
    case SQLITE.notadb:
      return new ApiError(
        503,
        'state_corrupt',
        `the state database ${path} is damaged (${what}): restart the daemon (port-linker daemon stop, then up); it moves the file aside and starts afresh`,
      );
    default:
      return new ApiError(503, 'state_unavailable', `cannot use the state database ${path}: ${what}`);
  }
}
