import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CheckedLink, checkLink } from './link-check.ts';

/** A link whose round trip answers when told, and whose last received byte is `receivedAt`. */
function link(opts: { answerAfterMs?: number; busy?: boolean } = {}): CheckedLink {
  const t0 = performance.now();
  return {
    checkAlive: () =>
      opts.answerAfterMs === undefined
        ? new Promise<boolean>(() => {})
        : new Promise<boolean>((r) => setTimeout(() => r(true), opts.answerAfterMs)),
    get silentMs() {
      return opts.busy ? 0 : performance.now() - t0 + 5000;
    },
  };
}

test('a link that answers is alive', async () => {
  assert.deepEqual(await checkLink(link({ answerAfterMs: 10 }), { timeoutMs: 300 }), { alive: true });
});

test('a silent link is dead after the timeout, and the server is not known to be reachable', async () => {
  const t0 = performance.now();
  const v = await checkLink(link(), { timeoutMs: 300, reachable: async () => false });
  assert.equal(v.alive, false);
  assert.ok(!v.alive && !v.serverReachable && /within 0.3 s/.test(v.reason), JSON.stringify(v));
  assert.ok(performance.now() - t0 >= 290);
});

test('a link that keeps receiving is alive (busy) at the timeout even unanswered', async () => {
  const t0 = performance.now();
  assert.deepEqual(await checkLink(link({ busy: true }), { timeoutMs: 300 }), { alive: true, busy: true });
  assert.ok(performance.now() - t0 >= 290);
});

test('a silent link is dropped a second after the server takes a new connection, before the timeout', async () => {
  const t0 = performance.now();
  const v = await checkLink(link(), { timeoutMs: 10_000, reachable: async () => true });
  const ms = performance.now() - t0;
  assert.ok(!v.alive && v.serverReachable && /takes new connections/.test(v.reason), JSON.stringify(v));
  assert.ok(ms >= 990 && ms < 3000, `${ms} ms`);
});

test('a link that keeps receiving is not dropped because a new connection gets through', async () => {
  const v = await checkLink(link({ answerAfterMs: 1500, busy: true }), {
    timeoutMs: 10_000,
    reachable: async () => true,
  });
  assert.deepEqual(v, { alive: true }, 'answered, not dropped at the 1 s grace');
});
