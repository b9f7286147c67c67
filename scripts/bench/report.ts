import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, hostname, loadavg, release, totalmem } from 'node:os';
import { type Row, type Sample, SIDES, type Side, type Target } from './bench-types.ts';
import { fmt, type Spread, spread } from './stats.ts';

/** The summarised result of one figure. */
export interface FigureResult {
  row: string;
  figure: string;
  label: string;
  unit: string;
  sides: Partial<Record<Side, Spread & { load1: number[] }>>;
  /** port-linker median / OpenSSH median. */
  ratio?: number;
  target?: Target;
  met?: boolean;
  note?: string;
}

/** Machine facts recorded with every result. */
export function machineInfo(cipher: string): Record<string, unknown> {
  const version = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0];
  };
  const ssh2 = JSON.parse(readFileSync(new URL('../../node_modules/ssh2/package.json', import.meta.url), 'utf8'));
  return {
    host: hostname(),
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    openssh: version('ssh', ['-V']),
    iperf3: version('iperf3', ['--version']),
    ssh2: ssh2.version,
    cipher,
    loadavg: loadavg(),
  };
}

function checkTarget(t: Target, v: number): boolean {
  return t.op === '>=' ? v >= t.value : t.op === '<=' ? v <= t.value : v < t.value;
}

/** Summarises samples per figure. */
export function summarise(rows: Row[], samples: Map<string, Sample[]>, errors: Map<string, string>): FigureResult[] {
  const out: FigureResult[] = [];
  for (const row of rows) {
    for (const f of row.figures) {
      const res: FigureResult = { row: row.id, figure: f.id, label: f.label, unit: f.unit, sides: {} };
      if (f.target) res.target = f.target;
      if (row.notImplemented) res.note = row.notImplemented;
      const all = samples.get(`${row.id}.${f.id}`) ?? [];
      for (const side of SIDES) {
        const mine = all.filter((s) => s.side === side);
        if (mine.length) res.sides[side] = { ...spread(mine.map((s) => s.value)), load1: mine.map((s) => s.load1) };
      }
      const ssh = res.sides.openssh?.median;
      const pl = res.sides['port-linker']?.median;
      if (ssh !== undefined && pl !== undefined && ssh !== 0) res.ratio = pl / ssh;
      if (f.target && pl !== undefined) {
        const v = f.target.kind === 'ratio' ? res.ratio : pl;
        if (v !== undefined) res.met = checkTarget(f.target, v);
      }
      const err = errors.get(row.id);
      if (err) res.note = `error: ${err.length > 100 ? `${err.slice(0, 97)}...` : err}`;
      out.push(res);
    }
  }
  return out;
}

function cell(s: (Spread & { load1: number[] }) | undefined): string {
  if (!s) return '-';
  return s.runs.length > 1 ? `${fmt(s.median)} (${fmt(s.min)}-${fmt(s.max)})` : fmt(s.median);
}

function targetText(t: Target | undefined): string {
  if (!t) return '';
  return t.kind === 'ratio' ? `${t.op} ${t.value}x` : `${t.op} ${t.value}`;
}

/** The markdown table (medians, min-max over runs, ratio port-linker/OpenSSH, target). */
export function markdownTable(results: FigureResult[]): string {
  const lines = [
    '| figure | unit | OpenSSH median (min-max) | port-linker median (min-max) | ratio | target | met |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    if (r.note && !r.sides.openssh && !r.sides['port-linker']) {
      lines.push(`| ${r.label} | ${r.unit} | ${r.note} | | | ${targetText(r.target)} | |`);
      continue;
    }
    const ratio = r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`;
    const met = r.met === undefined ? '' : r.met ? 'yes' : '**no**';
    lines.push(
      `| ${r.label} | ${r.unit} | ${cell(r.sides.openssh)} | ${cell(r.sides['port-linker'])} | ${ratio} | ${targetText(r.target)} | ${met} |`,
    );
  }
  return lines.join('\n');
}
