/** How one doctor step ended: `skip` means it does not apply here (or an earlier failure makes it moot). */
export type StepStatus = 'pass' | 'fail' | 'skip';

/** What a step found, before it is timed. */
export interface StepOutcome {
  status: StepStatus;
  /** One line: what was seen. */
  detail: string;
  /** One line: what to do about a failure (null for pass and skip). */
  fix?: string | null;
}

/** One finished step as reported (`--json`: one of these per line). */
export interface StepResult {
  name: string;
  status: StepStatus;
  /** Wall time of the step, whole milliseconds. */
  ms: number;
  detail: string;
  fix: string | null;
}

/** Shorthands for step outcomes. */
export const pass = (detail: string): StepOutcome => ({ status: 'pass', detail, fix: null });
export const skip = (detail: string): StepOutcome => ({ status: 'skip', detail, fix: null });
export const fail = (detail: string, fix: string): StepOutcome => ({ status: 'fail', detail, fix });
