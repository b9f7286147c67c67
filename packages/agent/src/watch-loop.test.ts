import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ListeningSocket, MessageOf } from '@port-linker/proto';
import { MAX_CHURN_BACKOFF_MS, WatchLoop } from './watch-loop.ts';

const socket = (port: number): ListeningSocket => ({ protocol: 'tcp', port, address: '127.0.0.1', process: 'svc' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A loop at the 50 ms minimum whose signature moves on every read (connection churn) unless `still`. */
function churningLoop() {
  const state = { sockets: [socket(1000)], scans: 0, still: false, reads: 0 };
  const deltas: MessageOf<'ScanDelta'>[] = [];
  const loop = new WatchLoop({ tcp: true, udp: false }, 50, {
    scan: async () => {
      state.scans++;
      return { sockets: state.sockets, malformed: 0 };
    },
    send: (d) => deltas.push(d),
    whenWritable: async () => {},
    log: () => {},
    signature: () => (state.still ? 'still' : `moved ${state.reads++}`),
    fullRescanMs: 60_000,
  });
  return { state, deltas, loop };
}

test('connection churn (signature moving every tick, listeners unchanged) backs the scans off', async () => {
  const { state, loop } = churningLoop();
  try {
    await sleep(2000);
    // without the back-off: one scan per tick, ~40; with it: 50, 100, 200, 400, 800, 1000 ms apart
    assert.ok(state.scans <= 10, `${state.scans} scans in 2 s of churn`);
    assert.ok(state.scans >= 4, `${state.scans} scans: churn is still looked at`);
    assert.ok(loop.skipped > 20);
  } finally {
    loop.stop();
  }
});

test('a listener appearing during churn is seen within the back-off cap, and resets it', async () => {
  const { state, deltas, loop } = churningLoop();
  try {
    await sleep(1500); // backed off to the cap by now
    state.sockets = [socket(1000), socket(2000)];
    const t0 = performance.now();
    while (!deltas.some((d) => d.added.some((s) => s.port === 2000))) {
      assert.ok(performance.now() - t0 < MAX_CHURN_BACKOFF_MS + 500, 'new listener seen within the cap');
      await sleep(10);
    }
    // the productive scan reset the back-off: the next change is scanned within a tick or two
    state.sockets = [socket(1000)];
    const t1 = performance.now();
    while (!deltas.some((d) => d.removed.some((s) => s.port === 2000))) {
      assert.ok(performance.now() - t1 < 400, 'after a change, the next one is scanned at once again');
      await sleep(10);
    }
  } finally {
    loop.stop();
  }
});

test('a quiet remote is scanned at the next tick after a change', async () => {
  const { state, deltas, loop } = churningLoop();
  try {
    state.still = true;
    await sleep(300);
    const scans = state.scans;
    await sleep(300);
    assert.equal(state.scans, scans, 'no scan while the signature stands still');
    state.sockets = [socket(1000), socket(3000)];
    state.still = false; // one move
    const t0 = performance.now();
    while (!deltas.some((d) => d.added.some((s) => s.port === 3000))) {
      assert.ok(performance.now() - t0 < 300, 'seen at the next tick');
      await sleep(5);
    }
  } finally {
    loop.stop();
  }
});

/** Waits until `cond` holds (polling), failing after `ms`: timer-paced tests must not assume an idle machine. */
async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    assert.ok(performance.now() < deadline, `timed out waiting for ${what}`);
    await sleep(5);
  }
}

test('rescanSoon: the next tick scans though the signature stands still; a request during a scan asks for the next', async () => {
  const { state, loop } = churningLoop();
  try {
    state.still = true;
    await sleep(200);
    const quiet = state.scans;
    await sleep(200);
    assert.equal(state.scans, quiet, 'no scan while the signature stands still');
    loop.rescanSoon(); // the agent closed a socket of its own: the counters may have netted it out
    await until(() => state.scans === quiet + 1, 'the scan rescanSoon asked for');
    await sleep(200);
    assert.equal(state.scans, quiet + 1, 'and only one');
  } finally {
    loop.stop();
  }
  // asked while a scan is running: that scan may have missed it, so the tick after it scans again
  let release: () => void = () => {};
  let held = false;
  let scans = 0;
  const slow = new WatchLoop({ tcp: true, udp: false }, 50, {
    scan: async () => {
      scans++;
      if (scans === 2) {
        held = true;
        await new Promise<void>((r) => (release = r));
      }
      return { sockets: [], malformed: 0 };
    },
    send: () => {},
    whenWritable: async () => {},
    log: () => {},
    signature: () => 'still',
    fullRescanMs: 60_000,
  });
  try {
    await until(() => scans === 1, 'the first scan');
    slow.rescanSoon();
    await until(() => held, 'scan 2, held');
    slow.rescanSoon();
    release();
    await until(() => scans === 3, 'scan 3, for the request made during scan 2');
    await sleep(200);
    assert.equal(scans, 3, 'then quiet again');
  } finally {
    slow.stop();
  }
});

test('a scan that hangs is reported (once), and the loop goes on when it returns', async () => {
  let release: () => void = () => {};
  let scans = 0;
  const logs: string[] = [];
  const loop = new WatchLoop({ tcp: true, udp: false }, 50, {
    scan: async () => {
      scans++;
      if (scans === 1) await new Promise<void>((r) => (release = r));
      return { sockets: [socket(scans)], malformed: 0 };
    },
    send: () => {},
    whenWritable: async () => {},
    log: (level, message) => logs.push(`${level} ${message}`),
    stallWarnMs: 100,
  });
  try {
    await until(() => logs.some((l) => l.startsWith('warn a socket scan has taken over 100 ms')), 'the stall warning');
    await sleep(300);
    assert.equal(logs.filter((l) => l.includes('has taken over')).length, 1, 'one line per stall, not per tick');
    release();
    await until(() => scans >= 2, 'the next scan');
  } finally {
    loop.stop();
  }
});
