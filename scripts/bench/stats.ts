/** Median, percentiles and spread of a sample list (nearest-rank percentiles). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** The median (mean of the two middle values for even counts). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Median, min and max of a list of per-run figures. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** Summarises per-run figures. */
export function spread(runs: readonly number[]): Spread {
  const ok = runs.filter((v) => Number.isFinite(v));
  return { median: median(ok), min: Math.min(...ok), max: Math.max(...ok), runs: [...runs] };
}

/** A compact human figure with 3 significant digits. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}
