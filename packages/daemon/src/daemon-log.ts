import { appendFileSync, renameSync, statSync } from 'node:fs';
import type { Level, SessionLog } from '@port-linker/engine';

const LEVELS: Record<Level, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

/** One line of the daemon's log file. */
export interface LogRecord {
  ts: string;
  level: Level;
  /** The host it is about (absent for the daemon itself). */
  host?: string;
  msg: string;
  [field: string]: string | number | boolean | undefined;
}

/**
 * The daemon's log: one JSON object per line, appended to `daemon.log` in the state dir (0600), rotated to
 * `daemon.log.1` past 10 MB. `port-linker logs` reads and formats it. Writes are synchronous so a crash loses nothing.
 */
export class DaemonLog {
  readonly #path: string;
  readonly #level: number;
  readonly #maxBytes: number;
  #size: number;
  readonly #onLine: ((r: LogRecord) => void) | undefined;

  constructor(path: string, options: { level?: Level; maxBytes?: number; onLine?: (r: LogRecord) => void } = {}) {
    this.#path = path;
    this.#level = LEVELS[options.level ?? 'info'];
    this.#maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.#onLine = options.onLine;
    try {
      this.#size = statSync(path).size;
    } catch {
      this.#size = 0;
    }
  }

  write(level: Level, msg: string, host?: string, fields: Record<string, string | number | boolean | undefined> = {}) {
    if (LEVELS[level] > this.#level) return;
    const record: LogRecord = { ts: new Date().toISOString(), level, ...(host ? { host } : {}), msg, ...fields };
    const line = `${JSON.stringify(record)}\n`;
    if (this.#size + line.length > this.#maxBytes && this.#size > 0) {
      try {
        renameSync(this.#path, `${this.#path}.1`);
      } catch {}
      this.#size = 0;
    }
    try {
      appendFileSync(this.#path, line, { mode: 0o600 });
      this.#size += Buffer.byteLength(line);
    } catch {}
    this.#onLine?.(record);
  }

  /** The SessionLog of one host (or of the daemon itself). */
  forHost(host?: string): SessionLog {
    return {
      log: (level, message, fields) => this.write(level, message, host, fields),
      info: (message) => this.write('info', message, host),
      warn: (message) => this.write('warn', message, host),
      error: (message) => this.write('error', message, host),
    };
  }
}
