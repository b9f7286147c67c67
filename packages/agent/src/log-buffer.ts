import { type LogEvent, LogLevel, type LogLevelName } from '@port-linker/proto';

/** Flush threshold of one batch (the wire spec's 60 KB burst bound). */
export const LOG_BATCH_BYTES = 60 * 1024;
/** Events kept while the host does not read; older ones are dropped and counted. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** A LogBatch count is a u16. */
const MAX_EVENTS_PER_BATCH = 0xffff;

const eventBytes = (e: LogEvent) => 4 + Buffer.byteLength(e.target) + Buffer.byteLength(e.message);

/**
 * The agent's logger: events are buffered and shipped as LogBatch frames, flushed at the end of
 * each event-loop turn (one `setImmediate` per burst) or at once past 60 KB. Nothing ever reaches
 * stdout or stderr from here. While `canSend()` says no (stdout congested), events accumulate up to
 * 1 MiB, then the oldest are dropped and a warning saying how many goes out with the next batch.
 */
export class LogBuffer {
  readonly #threshold: number;
  readonly #send: (events: LogEvent[]) => void;
  readonly #canSend: () => boolean;
  #events: LogEvent[] = [];
  #bytes = 0;
  #dropped = 0;
  #scheduled: NodeJS.Immediate | undefined;

  /** Keeps events at `level` or more severe; `send` ships one batch; `canSend` reports backpressure. */
  constructor(level: LogLevelName, send: (events: LogEvent[]) => void, canSend: () => boolean = () => true) {
    this.#threshold = LogLevel[level];
    this.#send = send;
    this.#canSend = canSend;
  }

  /** Whether `level` would be kept (skip building expensive messages otherwise). */
  enabled(level: LogLevelName): boolean {
    return LogLevel[level] <= this.#threshold;
  }

  /** Records one event. */
  log(level: LogLevelName, target: string, message: string): void {
    if (!this.enabled(level)) return;
    const event = { level, target, message };
    this.#events.push(event);
    this.#bytes += eventBytes(event);
    while (this.#bytes > MAX_BUFFERED_BYTES && this.#events.length > 1) {
      const old = this.#events.shift();
      if (old) this.#bytes -= eventBytes(old);
      this.#dropped++;
    }
    if (this.#bytes >= LOG_BATCH_BYTES) this.flush();
    else this.#scheduled ??= setImmediate(() => this.flush());
  }

  /** Events waiting to be shipped. */
  get pending(): number {
    return this.#events.length;
  }

  /** Ships everything buffered now (in batches of at most 60 KB), unless the output is congested. */
  flush(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    if (this.#events.length === 0 || !this.#canSend()) return;
    if (this.#dropped > 0) {
      const note = { level: 'warn' as const, target: 'agent.log', message: `dropped ${this.#dropped} log events` };
      this.#dropped = 0;
      this.#events.unshift(note);
      this.#bytes += eventBytes(note);
    }
    while (this.#events.length > 0) {
      let size = 0;
      let n = 0;
      for (const e of this.#events) {
        const b = eventBytes(e);
        if (n > 0 && (size + b > LOG_BATCH_BYTES || n >= MAX_EVENTS_PER_BATCH)) break;
        size += b;
        n++;
      }
      const batch = this.#events.splice(0, n);
      this.#bytes -= size;
      this.#send(batch);
    }
  }

  /** Cancels the pending flush timer (events stay buffered). */
  dispose(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
  }
}
