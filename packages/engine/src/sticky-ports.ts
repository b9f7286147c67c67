import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where a host's forward got its local port: (host, forward key) -> local port. */
export interface PortMemory {
  get(key: string): number | undefined;
  set(key: string, port: number): void;
}

/**
 * Numbers remembered across restarts in one JSON file of the state dir: the local ports chosen for forwards
 * (`ports.json`, keyed by host and forward key: `devbox|auto/tcp/3000`) and each host's loopback address
 * (`addresses.json`, the last octet of 127.0.0.N by host). Writes are batched (one per 50 ms at most) and atomic
 * (temp file + rename, mode 0600); a missing or unreadable file starts empty. A failed write (a full disk) is said
 * once, its temp file removed, and tried again every RETRY_MS until it succeeds, which is said too.
 */
/** How often a failed save is tried again. */
export const RETRY_MS = 2000;

export class StickyPorts implements PortMemory {
  readonly #path: string | undefined;
  readonly #ports = new Map<string, number>();
  readonly #onError: (message: string) => void;
  #timer: NodeJS.Timeout | undefined;
  /** The last save failed (said once until one succeeds). */
  #failing = false;

  /** `dir` undefined keeps the numbers in memory only. */
  constructor(dir: string | undefined, onError: (message: string) => void = () => {}, file = 'ports.json') {
    this.#path = dir === undefined ? undefined : join(dir, file);
    this.#onError = onError;
    if (!this.#path) return;
    try {
      const data = JSON.parse(readFileSync(this.#path, 'utf8')) as {
        version?: number;
        ports?: Record<string, unknown>;
      };
      for (const [key, port] of Object.entries(data.ports ?? {})) {
        if (Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536)
          this.#ports.set(key, port as number);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        onError(`ignoring ${this.#path}: ${(err as Error).message}`);
    }
  }

  get(key: string): number | undefined {
    return this.#ports.get(key);
  }

  set(key: string, port: number): void {
    if (this.#ports.get(key) === port) return;
    this.#ports.set(key, port);
    if (this.#path && !this.#timer) this.#timer = setTimeout(() => this.flush(), 50);
  }

  /** Every remembered value. */
  values(): number[] {
    return [...this.#ports.values()];
  }

  /** A view for one host: its keys are prefixed with `host|`. */
  forHost(host: string): PortMemory {
    return { get: (key) => this.get(`${host}|${key}`), set: (key, port) => this.set(`${host}|${key}`, port) };
  }

  /** Writes pending changes now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#path) return;
    const tmp = `${this.#path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, `${JSON.stringify({ version: 1, ports: Object.fromEntries(this.#ports) })}\n`, {
        mode: 0o600,
      });
      renameSync(tmp, this.#path);
      if (this.#failing) this.#onError(`saved local ports to ${this.#path} again`);
      this.#failing = false;
    } catch (err) {
      try {
        rmSync(tmp, { force: true });
      } catch {}
      if (!this.#failing)
        this.#onError(
          `cannot save local ports to ${this.#path}: ${(err as Error).message} (trying again every ${RETRY_MS / 1000} s)`,
        );
      this.#failing = true;
      this.#timer = setTimeout(() => this.flush(), RETRY_MS).unref();
    }
  }
}
