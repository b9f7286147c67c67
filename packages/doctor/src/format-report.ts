import type { StepResult } from './step-result.ts';

/** The `--json` line of a step: `{"name", "status", "ms", "detail", "fix"}`. */
export function jsonLine(r: StepResult): string {
  return `${JSON.stringify({ name: r.name, status: r.status, ms: r.ms, detail: r.detail, fix: r.fix })}\n`;
}

const MARK: Record<StepResult['status'], string> = { pass: 'ok  ', fail: 'FAIL', skip: 'skip' };
/** Width of the name column (the longest step name is `transport quic` / `port 65535 end to end`). */
export const NAME_WIDTH = 22;

/** One row of the human report: mark, name, time, detail; a failure adds an indented `fix:` line. */
export function humanRow(r: StepResult): string {
  const ms = `${r.ms} ms`.padStart(8);
  const row = `${MARK[r.status]}  ${r.name.padEnd(NAME_WIDTH)} ${ms}  ${r.detail}\n`;
  return r.status === 'fail' && r.fix ? `${row}${' '.repeat(6 + NAME_WIDTH + 11)}fix: ${r.fix}\n` : row;
}

/** The last lines: counts, total time, and the fixes again in order (so a long report ends with what to do). */
export function humanSummary(results: readonly StepResult[], totalMs: number): string {
  const n = (s: StepResult['status']) => results.filter((r) => r.status === s).length;
  const failed = results.filter((r) => r.status === 'fail');
  let text = `\n${n('pass')} passed, ${n('fail')} failed, ${n('skip')} skipped in ${Math.round(totalMs)} ms\n`;
  for (const r of failed) text += `  ${r.name}: ${r.fix ?? r.detail}\n`;
  return text;
}

/** The progress line written while a step runs (stderr). */
export function progressLine(name: string, index: number): string {
  return `doctor: [${index}] ${name} ...\n`;
}
