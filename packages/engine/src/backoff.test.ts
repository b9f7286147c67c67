import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelayMs, sleep } from './backoff.ts';

test('backoff is 1 s doubling to 30 s, then stays there', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 50].map((a) => backoffDelayMs(a)),
    [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000],
  );
});

test('sleep ends early when aborted', async () => {
  const ac = new AbortController();
  const t0 = Date.now();
  setTimeout(() => ac.abort(), 20);
  assert.equal(await sleep(10_000, ac.signal), false);
  assert.ok(Date.now() - t0 < 5000);
});
