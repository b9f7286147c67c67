// `npm run faults [-- --quick] [--only id,id] [--runs N]`: every fault injected for real (real sshds in network
// namespaces, real signals, real links taken down), each repeated; prints the table (fault, runs, passed, recovery
// p50/max, bytes lost) and writes it with every run to bench/faults/<date>.json. As root (namespaces).
// FAULTS_DEBUG=1 logs the events around a run that missed its recovery goal (link-down).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanupAll, installSignalCleanup } from '../bench/cleanup.ts';
import { percentile } from '../bench/stats.ts';
import { DATA_FAULTS } from './data-faults.ts';
import type { FaultRow, RunResult } from './fault-types.ts';
import { INPUT_FAULTS } from './input-faults.ts';
import { LINK_FAULTS } from './link-faults.ts';
import { PROCESS_FAULTS } from './process-faults.ts';
import { SECURITY_FAULTS } from './security-faults.ts';

const ROWS: FaultRow[] = [...PROCESS_FAULTS, ...LINK_FAULTS, ...DATA_FAULTS, ...INPUT_FAULTS, ...SECURITY_FAULTS];

const { values: args } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, runs: { type: 'string' } },
});
const only = args.only ? new Set(args.only.split(',')) : undefined;
const unknown = [...(only ?? [])].filter((id) => !ROWS.some((r) => r.id === id));
if (unknown.length > 0) {
  process.stderr.write(`faults: no row ${unknown.join(', ')}: choose from ${ROWS.map((r) => r.id).join(', ')}\n`);
  process.exit(2);
}
if (args.runs !== undefined && !(Number(args.runs) >= 1)) {
  process.stderr.write(`faults: --runs ${args.runs}: give a whole number >= 1\n`);
  process.exit(2);
}

const t0 = Date.now();
const log = (msg: string) => process.stderr.write(`[faults ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

interface RowResult {
  id: string;
  label: string;
  runs: RunResult[];
  error?: string;
}

const fmtMs = (v: number | undefined) => (v === undefined ? '-' : v < 10 ? v.toFixed(1) : v.toFixed(0));

function table(results: RowResult[]): string {
  const lines = [
    '| fault | runs | passed | recovery p50 (ms) | recovery max (ms) | bytes lost | notes |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    const rec = r.runs.flatMap((x) => (x.recoveryMs === undefined ? [] : [x.recoveryMs]));
    const lost = r.runs.some((x) => x.bytesLost !== undefined)
      ? String(r.runs.reduce((s, x) => s + (x.bytesLost ?? 0), 0))
      : '-';
    const passed = r.runs.filter((x) => x.ok).length;
    const notes = r.error ?? [...new Set(r.runs.flatMap((x) => (x.note ? [x.note] : [])))].slice(0, 2).join('; ');
    lines.push(
      `| ${r.label} | ${r.runs.length} | ${r.error ? 0 : passed}${passed < r.runs.length || r.error ? ' **fail**' : ''} | ${fmtMs(rec.length ? percentile(rec, 50) : undefined)} | ${fmtMs(rec.length ? Math.max(...rec) : undefined)} | ${lost} | ${notes.replaceAll('|', '/')} |`,
    );
  }
  return lines.join('\n');
}

installSignalCleanup();
const results: RowResult[] = [];
try {
  for (const row of ROWS.filter((r) => !only || only.has(r.id))) {
    const runs = args.runs ? Number(args.runs) : args.quick ? row.quickRuns : row.runs;
    log(`${row.id}: ${runs} run(s)`);
    try {
      const out = await row.measure(runs, { quick: args.quick, log });
      results.push({ id: row.id, label: row.label, runs: out });
      log(`${row.id}: ${out.filter((x) => x.ok).length}/${out.length} passed`);
    } catch (err) {
      const error = (err as Error).message.split('\n')[0] ?? 'failed';
      results.push({ id: row.id, label: row.label, runs: [], error });
      log(`${row.id}: could not run: ${error}`);
    }
  }
} finally {
  await cleanupAll();
}
const text = table(results);
process.stdout.write(`\n${text}\n\n`);
const dir = join(import.meta.dirname, '..', '..', 'bench', 'faults');
mkdirSync(dir, { recursive: true });
const file = join(
  dir,
  `${new Date().toISOString().replaceAll(':', '-').slice(0, 19)}${args.quick ? '-quick' : ''}.json`,
);
writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), quick: args.quick, results }, null, 2)}\n`);
log(`${((Date.now() - t0) / 1000).toFixed(0)} s; written to ${file}`);
const failed = results.some((r) => r.error || r.runs.some((x) => !x.ok));
process.exit(failed ? 1 : 0);
