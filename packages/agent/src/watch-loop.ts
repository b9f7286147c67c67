import type { ListeningSocket, MessageOf } from '@port-linker/proto';
import { diffScans, type ScanOptions, type ScanResult } from '@port-linker/scanner';

/** Bounds of the watch interval the host may ask for (WatchRequest.intervalMs, 0 = stop). */
export const WATCH_INTERVAL_BOUNDS = { min: 50, max: 60_000 } as const;

/** What the watch loop needs from its surroundings (all injected: testable without a process). */
export interface WatchLoopDeps {
  scan(options: ScanOptions): Promise<ScanResult>;
  /** Ships one delta. */
  send(delta: MessageOf<'ScanDelta'>): void;
  /** Resolves when the output can take more (stdout not congested). */
  whenWritable(): Promise<void>;
  log(level: 'error' | 'warn' | 'info' | 'debug' | 'trace', message: string): void;
  /**
   * Cheap signature of the kernel's socket tables (socket-table-signature.ts); when it is unchanged
   * since the last scan, the tick skips the scan, up to `fullRescanMs`. Undefined: scan every tick.
   */
  signature?: () => string | undefined;
  /** Longest time between two full scans while the signature stands still (default FULL_RESCAN_MS). */
  fullRescanMs?: number;
  /** When a scan or an output wait is reported as stalled (default STALL_WARN_MS). */
  stallWarnMs?: number;
}

/**
 * Longest wait between two scans the signature asks for while they keep finding nothing new. `inuse` also counts
 * connections: a remote serving many short connections (a load test through a forward) would move the signature
 * every tick and cost a full scan each (~8 ms, 5 % CPU at 150 ms ticks). Each scan that finds no listener change
 * doubles the wait before the next one (tick, 2x, 4x, ... up to this); the first one that finds a change resets it,
 * and a quiet remote never waits: an isolated change is scanned at the next tick.
 */
export const MAX_CHURN_BACKOFF_MS = 1_000;

/**
 * Default bound between full scans when the socket-table signature says nothing changed. It only catches what the
 * signature cannot see (a listener closing while another opens within one tick), and each full scan costs the kernel's
 * socket-hash walk (7-10 ms of CPU here): at 5 s that was a third of the agent's idle CPU, at 15 s it is a tenth.
 */
export const FULL_RESCAN_MS = 15_000;

/** A scan or an output wait longer than this is reported (once per wait): a stuck watch would otherwise be silent. */
export const STALL_WARN_MS = 5_000;

/**
 * One subscription: scan, diff against what the host last received, send only changes, sleep, repeat.
 * The first delta is `full: true` with the complete list. Scans never overlap (the next timer is
 * armed after a scan ends), and while stdout is congested the loop waits instead of queueing: the
 * next delta then covers everything that changed meanwhile.
 */
export class WatchLoop {
  readonly options: ScanOptions;
  readonly intervalMs: number;
  readonly #deps: WatchLoopDeps;
  #sent: ListeningSocket[] = [];
  #first = true;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #failures = 0;
  #lastSignature: string | undefined;
  /** Set by rescanSoon; cleared when a scan starts (a request made during a scan asks for the next one). */
  #rescanAsked = false;
  #lastScanAt = 0;
  /** Signature-driven scans in a row that found no listener change (see MAX_CHURN_BACKOFF_MS). */
  #futile = 0;
  /** Before this time a moved signature waits (the change stays pending: #lastSignature is not updated). */
  #holdUntil = 0;
  /** Scans run so far. */
  scans = 0;
  /** Ticks whose scan the unchanged signature made unnecessary. */
  skipped = 0;

  /** Starts at once: the first scan runs in this turn of the event loop. */
  constructor(options: ScanOptions, intervalMs: number, deps: WatchLoopDeps) {
    this.options = options;
    this.intervalMs = Math.min(WATCH_INTERVAL_BOUNDS.max, Math.max(WATCH_INTERVAL_BOUNDS.min, intervalMs));
    this.#deps = deps;
    void this.#tick();
  }

  /**
   * Makes the next tick scan even if the signature stands still (the agent changed sockets of its own, which the
   * counters may have cancelled out against someone else's). A churn hold still applies.
   */
  rescanSoon(): void {
    this.#rescanAsked = true;
  }

  /** Stops the loop; a scan in flight finishes but sends nothing. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    await this.#reportStall(this.#deps.whenWritable(), 'waiting for the host link to drain');
    if (this.#stopped) return;
    const started = performance.now();
    // read before scanning: a change during the scan then shows up as a new signature next tick
    const signature = this.#deps.signature?.();
    const forced = started - this.#lastScanAt >= (this.#deps.fullRescanMs ?? FULL_RESCAN_MS);
    const moved = signature === undefined || signature !== this.#lastSignature || this.#rescanAsked;
    if (!forced && (!moved || (signature !== undefined && started < this.#holdUntil))) {
      this.skipped++;
      this.#timer = setTimeout(() => void this.#tick(), this.intervalMs);
      return;
    }
    this.#rescanAsked = false;
    try {
      const result = await this.#reportStall(this.#deps.scan(this.options), 'a socket scan');
      this.scans++;
      if (this.#stopped) return;
      this.#lastSignature = signature;
      this.#lastScanAt = started;
      if (this.#failures > 0) this.#deps.log('info', `scanner recovered after ${this.#failures} failed scans`);
      this.#failures = 0;
      if (result.malformed > 0) this.#deps.log('debug', `scan skipped ${result.malformed} malformed lines`);
      const changed = this.#publish(result.sockets);
      if (changed || signature === undefined) this.#futile = 0;
      else if (moved) this.#futile++;
      this.#holdUntil =
        this.#futile < 2 ? 0 : started + Math.min(MAX_CHURN_BACKOFF_MS, this.intervalMs * 2 ** (this.#futile - 1));
      this.#deps.log('trace', `scan ${(performance.now() - started).toFixed(1)} ms, ${result.sockets.length} sockets`);
    } catch (err) {
      this.#failures++;
      // one line per streak, not per tick: a broken scanner at 150 ms would flood the host's log
      if (this.#failures === 1 || this.#failures % 100 === 0) {
        this.#deps.log('error', `scan failed (${this.#failures} in a row): ${(err as Error).message}`);
      }
    }
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#tick(), this.intervalMs);
  }

  /** Awaits `p`, logging a warning if it takes longer than STALL_WARN_MS (the loop scans nothing meanwhile). */
  async #reportStall<T>(p: Promise<T>, what: string): Promise<T> {
    const limit = this.#deps.stallWarnMs ?? STALL_WARN_MS;
    const timer = setTimeout(
      () => this.#deps.log('warn', `${what} has taken over ${limit} ms; no changes are reported meanwhile`),
      limit,
    );
    try {
      return await p;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends what changed since the last delta; false when nothing did. */
  #publish(sockets: ListeningSocket[]): boolean {
    if (this.#first) {
      this.#first = false;
      this.#sent = sockets;
      this.#deps.send({ type: 'ScanDelta', full: true, added: sockets, removed: [] });
      return true;
    }
    const diff = diffScans(this.#sent, sockets);
    if (diff.added.length === 0 && diff.removed.length === 0) return false;
    this.#sent = sockets;
    this.#deps.send({ type: 'ScanDelta', full: false, added: diff.added, removed: diff.removed });
    this.#deps.log(
      'debug',
      `delta +${diff.added.length} -${diff.removed.length}: ${[
        ...diff.added.map((s) => `+${s.protocol}/${s.address}:${s.port}`),
        ...diff.removed.map((s) => `-${s.protocol}/${s.address}:${s.port}`),
      ]
        .slice(0, 20)
        .join(' ')}`,
    );
    return true;
  }
}
