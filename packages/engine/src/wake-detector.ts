/** The clocks a WakeDetector reads (injected in tests). */
export interface WakeClock {
  /** Wall time, epoch ms (jumps with NTP, manual changes and, on most systems, across a suspend). */
  wall(): number;
  /** Monotonic ms (never jumps; on Linux it does not advance during a suspend). */
  mono(): number;
  every(ms: number, fn: () => void): { stop(): void };
}

export const systemClock: WakeClock = {
  wall: () => Date.now(),
  mono: () => performance.now(),
  every: (ms, fn) => {
    const t = setInterval(fn, ms);
    t.unref();
    return { stop: () => clearInterval(t) };
  },
};

/** Why the detector fired. */
export interface Wake {
  kind: 'frozen' | 'clock_jump';
  /** How long the process missed (frozen) or how far the wall clock moved beyond the monotonic one (ms). */
  gapMs: number;
}

/**
 * Notices a laptop suspend, a SIGSTOP or a jump of the wall clock: it ticks every `tickMs` and compares how much
 * time passed on each clock. A tick that comes `slackMs` late means the event loop was frozen (SIGSTOP, a VM
 * pause); the wall clock moving `slackMs` more than the monotonic one means a suspend (Linux's monotonic clock
 * stops meanwhile) or a clock change. Either way the owner checks every host at once.
 */
export class WakeDetector {
  readonly #clock: WakeClock;
  readonly #tickMs: number;
  readonly #slackMs: number;
  #timer: { stop(): void } | undefined;
  #lastWall = 0;
  #lastMono = 0;

  constructor(options: { tickMs?: number; slackMs?: number; clock?: WakeClock } = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#tickMs = options.tickMs ?? 1000;
    this.#slackMs = options.slackMs ?? 3000;
  }

  start(onWake: (wake: Wake) => void): void {
    this.stop();
    this.#lastWall = this.#clock.wall();
    this.#lastMono = this.#clock.mono();
    this.#timer = this.#clock.every(this.#tickMs, () => {
      const wake = this.check();
      if (wake) onWake(wake);
    });
  }

  /** One tick's comparison (public for tests): the wake it saw, if any. */
  check(): Wake | undefined {
    const wall = this.#clock.wall();
    const mono = this.#clock.mono();
    const dMono = mono - this.#lastMono;
    const dWall = wall - this.#lastWall;
    this.#lastWall = wall;
    this.#lastMono = mono;
    if (dMono - this.#tickMs > this.#slackMs) return { kind: 'frozen', gapMs: Math.round(dMono - this.#tickMs) };
    if (Math.abs(dWall - dMono) > this.#slackMs) return { kind: 'clock_jump', gapMs: Math.round(dWall - dMono) };
    return undefined;
  }

  stop(): void {
    this.#timer?.stop();
    this.#timer = undefined;
  }
}
