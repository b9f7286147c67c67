import { fail, type StepOutcome, type StepResult } from './step-result.ts';

/** Who watches the steps: told when each starts and when it is done. */
export interface StepReporter {
  start(name: string): void;
  done(result: StepResult): void;
}

/** One line of an error, never a stack. */
export function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}

/** Runs steps one after another, times each, and keeps the results in order. */
export class StepRunner {
  readonly results: StepResult[] = [];
  readonly #reporter: StepReporter;

  constructor(reporter: StepReporter) {
    this.#reporter = reporter;
  }

  /** Runs one step; a throw is a failure with `fixOnThrow` (the step's own outcome otherwise). */
  async run(name: string, step: () => Promise<StepOutcome> | StepOutcome, fixOnThrow?: string): Promise<StepResult> {
    this.#reporter.start(name);
    const started = performance.now();
    let outcome: StepOutcome;
    try {
      outcome = await step();
    } catch (err) {
      outcome = fail(errorText(err), fixOnThrow ?? 'see the message above');
    }
    const result: StepResult = {
      name,
      status: outcome.status,
      ms: Math.round(performance.now() - started),
      detail: outcome.detail,
      fix: outcome.status === 'fail' ? (outcome.fix ?? null) : null,
    };
    this.results.push(result);
    this.#reporter.done(result);
    return result;
  }

  /** Whether every step passed or was skipped. */
  get ok(): boolean {
    return this.results.every((r) => r.status !== 'fail');
  }
}
