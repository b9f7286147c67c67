/**
 * Says refused peers without letting a flood of them flood the log (each line also travels to the host): the first
 * refusal of a window is said as it comes, the rest of that window are counted and said as one line when it ends.
 */
export class RefusalLog {
  readonly #say: (line: string) => void;
  readonly #windowMs: number;
  #windowEnds = 0;
  #held = 0;
  #last = '';
  #timer: NodeJS.Timeout | undefined;

  constructor(say: (line: string) => void, windowMs = 10_000) {
    this.#say = say;
    this.#windowMs = windowMs;
  }

  refused(line: string): void {
    const now = performance.now();
    if (now >= this.#windowEnds) {
      this.#windowEnds = now + this.#windowMs;
      this.#say(line);
      return;
    }
    this.#held++;
    this.#last = line;
    this.#timer ??= setTimeout(() => this.#summary(), this.#windowEnds - now).unref();
  }

  /** Says what the window held back. */
  #summary(): void {
    this.#timer = undefined;
    if (this.#held === 0) return;
    const n = this.#held;
    this.#held = 0;
    this.#say(`${n} more like it in ${this.#windowMs / 1000} s, the last: ${this.#last}`);
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#summary();
  }
}
