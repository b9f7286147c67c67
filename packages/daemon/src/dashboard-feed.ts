import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EngineEvent } from '@port-linker/engine';

/** How soon a change (an event, a lease) reaches the open pages. */
const CHANGE_DELAY_MS = 20;
/** How often traffic counters and TTLs are sent when they changed. */
const TICK_MS = 1000;

/**
 * The dashboard's live stream (Server-Sent Events): `event: snapshot` with the whole state (the same host, forward
 * and lease objects as `GET /v1/hosts` and `GET /v1/list`) when a page connects, within a few ms of any change, and
 * once a second when only counters moved; plain `data:` messages are the engine's events, as on `GET /v1/events`.
 * One JSON text is built per push, whatever the number of pages; nothing runs while no page is open.
 */
export class DashboardFeed {
  readonly #state: () => unknown;
  readonly #streams = new Set<ServerResponse>();
  #last = '';
  #pending: NodeJS.Timeout | undefined;
  #tick: NodeJS.Timeout | undefined;

  constructor(state: () => unknown) {
    this.#state = state;
  }

  /** How many pages are open. */
  get size(): number {
    return this.#streams.size;
  }

  /** Serves one page's stream until it closes. */
  open(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    this.#last = JSON.stringify(this.#state());
    res.write(`retry: 1000\nevent: snapshot\ndata: ${this.#last}\n\n`);
    this.#streams.add(res);
    this.#tick ??= setInterval(() => this.#push(), TICK_MS);
    res.on('close', () => {
      this.#streams.delete(res);
      if (this.#streams.size === 0) this.#stop();
    });
  }

  /** An engine event: forwarded at once, and the state follows. */
  event(e: EngineEvent): void {
    if (this.#streams.size === 0) return;
    const data = `data: ${JSON.stringify(e)}\n\n`;
    for (const res of this.#streams) res.write(data);
    this.changed();
  }

  /** Something the pages show changed (a lease, a host): push the state soon. */
  changed(): void {
    if (this.#streams.size === 0 || this.#pending) return;
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      this.#push();
    }, CHANGE_DELAY_MS);
  }

  close(): void {
    for (const res of this.#streams) res.end();
    this.#streams.clear();
    this.#stop();
  }

  #push(): void {
    if (this.#streams.size === 0) return;
    const json = JSON.stringify(this.#state());
    if (json === this.#last) return;
    this.#last = json;
    const data = `event: snapshot\ndata: ${json}\n\n`;
    for (const res of this.#streams) res.write(data);
  }

  #stop(): void {
    clearInterval(this.#tick);
    clearTimeout(this.#pending);
    this.#tick = undefined;
    this.#pending = undefined;
  }
}
