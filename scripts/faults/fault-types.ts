/** How one run of a fault went. */
export interface RunResult {
  ok: boolean;
  /** Fault over (link up, sshd started, SIGCONT, ...) -> everything usable again, ms. */
  recoveryMs?: number;
  /** Bytes sent that did not arrive intact (integrity rows). */
  bytesLost?: number;
  /** Why it failed, or a figure worth keeping (fds before/after, ...). */
  note?: string;
}

/** What a row's runs get. */
export interface FaultContext {
  quick: boolean;
  log(msg: string): void;
}

/** One line of the table: a fault injected `runs` times (its own set-up and teardown inside measure). */
export interface FaultRow {
  id: string;
  label: string;
  runs: number;
  /** Runs with --quick (and shorter outages there: see each row). */
  quickRuns: number;
  measure(runs: number, ctx: FaultContext): Promise<RunResult[]>;
}
