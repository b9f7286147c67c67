import { UsageError } from './errors.ts';

/** Remote ports never mirrored unless --no-default-excludes: ssh, dns, rpcbind, cups, mdns, tailscale. */
export const DEFAULT_EXCLUDES: readonly number[] = [22, 53, 111, 631, 5353, 41641];

/** An inclusive port range. */
export interface PortRange {
  from: number;
  to: number;
}

/** Parses `3000,5173,8000-8999` into ranges; throws UsageError naming the bad item. */
export function parsePortList(text: string, flag: string): PortRange[] {
  const ranges: PortRange[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item);
    const from = Number(m?.[1]);
    const to = m?.[2] === undefined ? from : Number(m[2]);
    if (!m || from < 1 || to > 65535 || from > to) {
      throw new UsageError(
        `${flag}: "${item}" is not a port or range (use e.g. 3000,5173,8000-8999 with ports 1-65535)`,
      );
    }
    ranges.push({ from, to });
  }
  if (ranges.length === 0) throw new UsageError(`${flag}: empty port list (use e.g. 3000,8000-8999)`);
  return ranges;
}

/** Which remote ports to mirror: an optional allow-list, then excludes. */
export class PortFilter {
  readonly #only: PortRange[] | undefined;
  readonly #exclude: PortRange[];

  /** `only` undefined = every port; `exclude` is applied after it. */
  constructor(only: PortRange[] | undefined, exclude: PortRange[]) {
    this.#only = only;
    this.#exclude = exclude;
  }

  /** Builds the filter from CLI values (`--ports`, `--exclude`, `--no-default-excludes`) plus extra excludes. */
  static fromOptions(o: {
    ports?: string;
    exclude?: string;
    defaultExcludes: boolean;
    extraExcludes?: number[];
  }): PortFilter {
    const only = o.ports === undefined ? undefined : parsePortList(o.ports, '--ports');
    const exclude = o.exclude === undefined ? [] : parsePortList(o.exclude, '--exclude');
    const extra = [...(o.defaultExcludes ? DEFAULT_EXCLUDES : []), ...(o.extraExcludes ?? [])];
    return new PortFilter(only, [...exclude, ...extra.map((p) => ({ from: p, to: p }))]);
  }

  /** A copy that also excludes `ports` (e.g. the agent's own listeners, known only after it starts). */
  withExcluded(ports: readonly number[]): PortFilter {
    return new PortFilter(this.#only, [...this.#exclude, ...ports.map((p) => ({ from: p, to: p }))]);
  }

  /** Whether a remote port should be mirrored. */
  accepts(port: number): boolean {
    const inside = (r: PortRange) => port >= r.from && port <= r.to;
    if (this.#only && !this.#only.some(inside)) return false;
    return !this.#exclude.some(inside);
  }
}
