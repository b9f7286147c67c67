import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SshConnection } from '@port-linker/ssh';
import { ConnectionPool, SESSIONS_PER_CONNECTION } from './connection-pool.ts';
import { parseExecOpen } from './exec-stream.ts';

test('sessions on one connection are bounded; the rest wait their turn in order', async () => {
  const conn = { closed: false } as unknown as SshConnection;
  const pool = new ConnectionPool({ log: () => {}, held: async (t) => (t === 'h' ? { id: 'h', conn } : undefined) });
  const leases = await Promise.all(
    Array.from({ length: SESSIONS_PER_CONNECTION }, () => pool.acquire({ target: 'h' })),
  );
  assert.ok(leases.every((l) => l.id === 'h' && !l.opened));
  let next = false;
  const waiting = pool.acquire({ target: 'h' }).then((l) => {
    next = true;
    return l;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(next, false, 'the ninth waits');
  leases[0]?.release();
  leases[0]?.release(); // twice is once
  const ninth = await waiting;
  assert.equal(next, true);
  let tenth = false;
  void pool.acquire({ target: 'h' }).then(() => {
    tenth = true;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(tenth, false, 'a double release did not free two slots');
  ninth.release();
  await new Promise((r) => setImmediate(r));
  assert.equal(tenth, true);
});

test('a target that is not a host of the daemon and cannot be parsed is a 400, not a crash', async () => {
  const pool = new ConnectionPool({ log: () => {}, held: async () => undefined });
  await assert.rejects(pool.acquire({ target: 'h', ssh_options: ['Nonsense'] }), (err: Error & { status?: number }) => {
    assert.equal(err.status, 400);
    return true;
  });
  pool.close();
  await assert.rejects(pool.acquire({ target: 'h' }), /stopping/);
});

test('OPEN is checked field by field', () => {
  assert.deepEqual(parseExecOpen({ target: 'h', command: 'ls' }), { target: 'h', command: 'ls' });
  assert.throws(() => parseExecOpen(null), /JSON object/);
  assert.throws(() => parseExecOpen({ target: '-oProxyCommand=x', command: '' }), /target/);
  assert.throws(() => parseExecOpen({ target: 'h' }), /command must be a string/);
  assert.throws(() => parseExecOpen({ target: 'h', command: '', pty: { rows: 1, cols: 1, term: 'x;y' } }), /pty/);
  assert.throws(() => parseExecOpen({ target: 'h', command: '', persist: -1 }), /persist/);
  assert.throws(() => parseExecOpen({ target: 'h', command: '', identities: [1] }), /identities/);
});
