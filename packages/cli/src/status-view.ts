import { styleText } from 'node:util';
import type { ForwardInfo } from '@port-linker/forward';

/** A table row: a forward, and its host when several hosts are mirrored. */
export type ForwardRow = ForwardInfo & { host?: string };

/** `localhost` for 127.0.0.1, else the address (IPv6 in brackets). */
function localName(addr: string | undefined): string {
  if (addr === undefined || addr === '127.0.0.1') return 'localhost';
  return addr.includes(':') ? `[${addr}]` : addr;
}

/** Human size: 0 B, 12.3 KiB, 4.0 MiB... */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * Renders the forwards table (pure, for tests): one row per forward, sorted by remote port; with several hosts, a
 * host column comes first and rows are grouped by host (in the order given).
 */
export function renderTable(forwards: readonly ForwardRow[], color: boolean): string[] {
  if (forwards.length === 0) return [];
  const hosts = [...new Set(forwards.map((f) => f.host ?? ''))];
  const byHost = hosts.length > 1 || forwards.some((f) => f.host !== undefined);
  const rows = [...forwards]
    .sort(
      (a, b) =>
        hosts.indexOf(a.host ?? '') - hosts.indexOf(b.host ?? '') ||
        a.spec.remotePort - b.spec.remotePort ||
        a.spec.key.localeCompare(b.spec.key),
    )
    .map((f) => [
      ...(byHost ? [f.host ?? ''] : []),
      f.spec.protocol,
      `${f.spec.remoteHost.includes(':') ? `[${f.spec.remoteHost}]` : f.spec.remoteHost}:${f.spec.remotePort}`,
      `${localName(f.addresses[0])}:${f.localPort}${f.localPort !== f.spec.wantedLocalPort && f.spec.wantedLocalPort !== 0 ? ' (remapped)' : ''}`,
      [f.spec.label, f.spec.process ? (f.spec.label ? `(${f.spec.process})` : f.spec.process) : '']
        .filter(Boolean)
        .join(' ') || (f.spec.origin === 'explicit' ? '-L' : ''),
      // a plane (OpenSSH's ControlMaster) carries the bytes: nothing is counted here
      f.plane ? `via ${f.plane}` : `${f.stats.open}/${f.stats.total}`,
      f.plane ? 'not counted' : `${formatBytes(f.stats.bytesIn)} / ${formatBytes(f.stats.bytesOut)}`,
    ]);
  const head = [...(byHost ? ['host'] : []), 'proto', 'remote', 'local', 'process', 'conns', 'in / out'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const header = line(head);
  return [color ? styleText('bold', header) : header, ...rows.map(line)];
}

/**
 * Live table of forwards plus a status line, redrawn in place on a TTY (stderr). Log lines are
 * printed above it: the logger calls clear() before and draw() after each line.
 */
export class StatusView {
  readonly #write: (s: string) => void;
  readonly #color: boolean;
  readonly #list: () => ForwardRow[];
  #drawn = 0;
  #status = 'starting';
  #until: number | undefined;
  #agent = '';
  #timer: NodeJS.Timeout | undefined;

  /** `list` gives the current forwards; `write` writes raw text to the terminal. */
  constructor(list: () => ForwardRow[], write: (s: string) => void, color: boolean) {
    this.#list = list;
    this.#write = write;
    this.#color = color;
  }

  /** Starts the periodic redraw (counters, countdowns). */
  start(): void {
    this.#timer = setInterval(() => this.redraw(), 1000);
    this.#timer.unref();
    this.draw();
  }

  /** Sets the status line; `until` (epoch ms) shows a countdown. */
  setStatus(text: string, until?: number): void {
    this.#status = text;
    this.#until = until;
    this.redraw();
  }

  /** Sets the agent part of the status line (`node/stdio`). */
  setAgent(text: string): void {
    this.#agent = text;
    this.redraw();
  }

  /** Erases what was drawn. */
  clear(): void {
    if (this.#drawn > 0) this.#write(`\x1b[${this.#drawn}F\x1b[J`);
    this.#drawn = 0;
  }

  /** Draws the table and status line below the cursor. */
  draw(): void {
    const lines = renderTable(this.#list(), this.#color);
    let status = this.#status;
    if (this.#until !== undefined) {
      const left = Math.max(0, Math.ceil((this.#until - Date.now()) / 1000));
      status = status.replace(/retrying in \d+ s/, `retrying in ${left} s`);
    }
    const agent = this.#agent ? ` | agent ${this.#agent}` : '';
    const count = ` | ${lines.length > 0 ? lines.length - 1 : 0} forward(s) | Ctrl-C to stop`;
    const text = `${status}${agent}${count}`;
    lines.push(this.#color ? styleText('cyan', text) : text);
    this.#write(`${lines.join('\n')}\n`);
    this.#drawn = lines.length;
  }

  /** clear() then draw(). */
  redraw(): void {
    this.clear();
    this.draw();
  }

  /** Stops redrawing and leaves the last frame on screen. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}
