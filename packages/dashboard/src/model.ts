// The dashboard's view model: pure functions over the daemon's state (no DOM), unit-tested under Node.
// The daemon's objects as the page reads them (only the fields it uses). The daemon's own types must stay assignable
// to these: packages/daemon/src/dashboard-schema.test.ts fails to compile otherwise.

export interface ForwardSpecView {
  key: string;
  protocol: 'tcp' | 'udp';
  remoteHost: string;
  remotePort: number;
  wantedLocalPort: number;
  process: string;
  label?: string;
}

export interface ForwardView {
  spec: ForwardSpecView;
  localPort: number;
  addresses: string[];
  stats: { open: number; total: number; failed: number; bytesIn: number; bytesOut: number };
  /** The plane carrying its connections (`openssh`): then nothing is counted. */
  plane?: string;
}

export interface HostView {
  id: string;
  target: string;
  profile?: string;
  state: string;
  since: number;
  reconnects: number;
  latencyMs?: number;
  error?: string;
  forwards: ForwardView[];
  stopped: ForwardSpecView[];
  history: Array<{ ts: string; event: string; detail?: string }>;
  /** Sent back as is to connect the host again. */
  spec: unknown;
}

export interface Lease {
  port: number;
  service_name: string;
  ttl_seconds: number;
  expires_at: string;
  pid?: number;
}

export interface DashboardState {
  version: string;
  hosts: HostView[];
  leases: Lease[];
}

/** One row of the forwards table: a running forward, or one stopped from the page. */
export interface ForwardRow {
  /** `host|key`: unique across hosts. */
  id: string;
  host: string;
  key: string;
  running: boolean;
  protocol: 'tcp' | 'udp';
  localPort: number;
  remote: string;
  process: string;
  label: string;
  open: number;
  total: number;
  bytesIn: number;
  bytesOut: number;
  /** Carried by a plane outside port-linker (`openssh`): the counters stay 0 and the page says so. */
  plane?: string;
  /** http://localhost:PORT/ for TCP (the link the row opens and copies). */
  link?: string;
}

function remoteOf(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Every forward of every host, running ones first per host, in port order. */
export function forwardRows(state: DashboardState): ForwardRow[] {
  const rows: ForwardRow[] = [];
  for (const h of state.hosts) {
    const running = [...h.forwards].sort((a, b) => a.localPort - b.localPort);
    for (const f of running) {
      const local = f.addresses[0] ?? '127.0.0.1';
      const host = local === '127.0.0.1' || local === '::1' ? 'localhost' : local;
      rows.push({
        id: `${h.id}|${f.spec.key}`,
        host: h.id,
        key: f.spec.key,
        running: true,
        protocol: f.spec.protocol,
        localPort: f.localPort,
        remote: remoteOf(f.spec.remoteHost, f.spec.remotePort),
        process: f.spec.process,
        label: f.spec.label ?? '',
        open: f.stats.open,
        total: f.stats.total,
        bytesIn: f.stats.bytesIn,
        bytesOut: f.stats.bytesOut,
        ...(f.plane ? { plane: f.plane } : {}),
        ...(f.spec.protocol === 'tcp' ? { link: `http://${host}:${f.localPort}/` } : {}),
      });
    }
    for (const s of h.stopped) {
      rows.push({
        id: `${h.id}|${s.key}`,
        host: h.id,
        key: s.key,
        running: false,
        protocol: s.protocol,
        localPort: s.wantedLocalPort,
        remote: remoteOf(s.remoteHost, s.remotePort),
        process: s.process,
        label: s.label ?? '',
        open: 0,
        total: 0,
        bytesIn: 0,
        bytesOut: 0,
      });
    }
  }
  return rows;
}

/** Does a row match the filter box? Every word must appear in one of its fields (case-insensitive). */
export function matches(filter: string, ...fields: Array<string | number | undefined>): boolean {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const text = fields
    .filter((f) => f !== undefined)
    .join(' ')
    .toLowerCase();
  return words.every((w) => text.includes(w));
}

/** Bytes per second of each forward over the last samples (the sparkline), from the snapshots' counters. */
export class TrafficHistory {
  readonly #size: number;
  readonly #last = new Map<string, { t: number; bytes: number }>();
  readonly #rates = new Map<string, number[]>();

  constructor(size = 30) {
    this.#size = size;
  }

  /** Adds one snapshot's counters (at `now` ms); forwards that are gone are forgotten. */
  sample(rows: ForwardRow[], now: number): void {
    const seen = new Set<string>();
    for (const r of rows) {
      if (!r.running) continue;
      seen.add(r.id);
      const bytes = r.bytesIn + r.bytesOut;
      const prev = this.#last.get(r.id);
      if (prev && now - prev.t < 200) continue; // a burst of snapshots: measured from its first one
      this.#last.set(r.id, { t: now, bytes });
      if (!prev) continue;
      const rate = Math.max(0, ((bytes - prev.bytes) * 1000) / (now - prev.t));
      const list = this.#rates.get(r.id) ?? [];
      list.push(rate);
      if (list.length > this.#size) list.splice(0, list.length - this.#size);
      this.#rates.set(r.id, list);
    }
    for (const id of this.#last.keys())
      if (!seen.has(id)) {
        this.#last.delete(id);
        this.#rates.delete(id);
      }
  }

  rates(id: string): number[] {
    return this.#rates.get(id) ?? [];
  }
}

/** The points of an SVG polyline drawing `values` in a `width` x `height` box (the largest value at the top). */
export function sparklinePoints(values: number[], width: number, height: number): string {
  if (values.length === 0) return '';
  const max = Math.max(...values, 1);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - (v / max) * (height - 1) - 0.5).toFixed(1)}`)
    .join(' ');
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** How long ago (or, negative, how long until): "5 s", "3 min", "2 h", "4 d". */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.round(Math.abs(ms) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

/** Seconds left of a lease at `now`. */
export function leaseSecondsLeft(lease: Lease, now: number): number {
  return Math.max(0, Math.round((Date.parse(lease.expires_at) - now) / 1000));
}

/**
 * Hosts the page saw that the daemon no longer has (disconnected from here or elsewhere): kept with their spec, so
 * the page can connect them again.
 */
export function goneHosts(previous: Map<string, HostView>, state: DashboardState): Map<string, HostView> {
  const now = new Set(state.hosts.map((h) => h.id));
  const gone = new Map<string, HostView>();
  for (const [id, h] of previous) if (!now.has(id)) gone.set(id, h);
  return gone;
}
