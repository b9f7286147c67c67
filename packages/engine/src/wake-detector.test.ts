import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type WakeClock, WakeDetector } from './wake-detector.ts';

/** A clock the test moves by hand; `tick()` runs the detector's periodic callback. */
function fakeClock() {
  let wall = 1_700_000_000_000;
  let mono = 0;
  let fn: (() => void) | undefined;
  const clock: WakeClock = {
    wall: () => wall,
    mono: () => mono,
    every: (_ms, f) => {
      fn = f;
      return { stop: () => (fn = undefined) };
    },
  };
  return {
    clock,
    advance(wallMs: number, monoMs = wallMs) {
      wall += wallMs;
      mono += monoMs;
      fn?.();
    },
  };
}

test('steady ticks (with ordinary jitter) never fire', () => {
  const c = fakeClock();
  const wakes: unknown[] = [];
  new WakeDetector({ clock: c.clock }).start((w) => wakes.push(w));
  for (let i = 0; i < 100; i++) c.advance(1000 + (i % 7) * 100);
  assert.deepEqual(wakes, []);
});

test('a frozen event loop (SIGSTOP, VM pause) fires once with the missed time', () => {
  const c = fakeClock();
  const wakes: unknown[] = [];
  new WakeDetector({ clock: c.clock }).start((w) => wakes.push(w));
  c.advance(1000);
  c.advance(61_000);
  c.advance(1000);
  assert.deepEqual(wakes, [{ kind: 'frozen', gapMs: 60_000 }]);
});

test('a suspend (wall clock moves, monotonic does not) and a clock change fire as clock jumps', () => {
  const c = fakeClock();
  const wakes: unknown[] = [];
  new WakeDetector({ clock: c.clock }).start((w) => wakes.push(w));
  c.advance(3_600_000 + 1000, 1000); // an hour asleep
  c.advance(1000 - 10_000, 1000); // the clock set back 10 s
  assert.deepEqual(wakes, [
    { kind: 'clock_jump', gapMs: 3_600_000 },
    { kind: 'clock_jump', gapMs: -10_000 },
  ]);
});

test('stop() ends the ticks', () => {
  const c = fakeClock();
  const wakes: unknown[] = [];
  const d = new WakeDetector({ clock: c.clock });
  d.start((w) => wakes.push(w));
  d.stop();
  c.advance(100_000);
  assert.deepEqual(wakes, []);
});
