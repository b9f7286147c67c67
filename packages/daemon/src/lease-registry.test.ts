import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, test } from 'node:test';
import { ApiError } from './api-error.ts';
import { DesiredState } from './desired-state.ts';
import { LeaseRegistry, loopbackFree } from './lease-registry.ts';

function tempState(t: { after: (fn: () => void) => void }): { path: string; open: () => DesiredState } {
  const dir = mkdtempSync(join(tmpdir(), 'pl-leases-'));
  const opened: DesiredState[] = [];
  t.after(() => {
    for (const s of opened) if (s.database.isOpen) s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const path = join(dir, 'state.db');
  return {
    path,
    open: () => {
      const s = new DesiredState(path);
      opened.push(s);
      return s;
    },
  };
}

const code = (c: string) => (err: unknown) => err instanceof ApiError && err.code === c;

describe('LeaseRegistry', () => {
  test('200 concurrent allocations get 200 different ports, from the bottom of the range', async (t) => {
    const state = tempState(t).open();
    const reg = new LeaseRegistry(state.database, { range: [20000, 20299], isFree: async () => true });
    const leases = await Promise.all(Array.from({ length: 200 }, (_, i) => reg.alloc({ service_name: `svc-${i}` })));
    const ports = leases.map((l) => l.port);
    assert.equal(new Set(ports).size, 200);
    assert.deepEqual(
      [...ports].sort((a, b) => a - b),
      Array.from({ length: 200 }, (_, i) => 20000 + i),
    );
    assert.equal(reg.list().length, 200);
  });

  test('held ports (mirrored forwards) and busy ports are skipped; a full range is a 503 that says what to do', async (t) => {
    const state = tempState(t).open();
    const busy = new Set([20001]);
    const reg = new LeaseRegistry(state.database, {
      range: [20000, 20003],
      isHeld: (p) => p === 20000,
      isFree: async (p) => !busy.has(p),
    });
    assert.equal((await reg.alloc({ service_name: 'a' })).port, 20002);
    assert.equal((await reg.alloc({ service_name: 'b' })).port, 20003);
    await assert.rejects(reg.alloc({ service_name: 'c' }), code('no_free_port'));
    await assert.rejects(reg.alloc({ service_name: 'c', port: 20001 }), code('port_busy'));
    await assert.rejects(reg.alloc({ service_name: 'c', port: 20002 }), code('port_leased'));
    busy.clear();
    assert.equal((await reg.alloc({ service_name: 'c', port: 20001 })).port, 20001);
  });

  test('TTL: expires unless renewed; heartbeat renews; release by port or service', async (t) => {
    let now = 1_000_000;
    const state = tempState(t).open();
    const alive = new Set([42]);
    const reg = new LeaseRegistry(state.database, {
      range: [20000, 20009],
      isFree: async () => true,
      now: () => now,
      isAlive: (pid) => alive.has(pid),
    });
    const a = await reg.alloc({ service_name: 'api', ttl_seconds: 10, pid: 42 });
    const b = await reg.alloc({ service_name: 'web', ttl_seconds: 10 });
    await reg.alloc({ service_name: 'web', ttl_seconds: 10 });
    assert.equal(a.pid, 42);
    now += 9_000;
    assert.equal(reg.heartbeat(a.port).expires_at, new Date(now + 10_000).toISOString());
    now += 2_000;
    assert.deepEqual(
      reg.list().map((l) => l.service_name),
      ['api'],
      'web expired, api was renewed',
    );
    assert.throws(() => reg.heartbeat(b.port), code('no_lease'));
    assert.equal((await reg.alloc({ service_name: 'web' })).port, b.port, 'an expired port is free again');
    assert.equal(reg.release({ service_name: 'web' }).length, 1);
    assert.deepEqual(
      reg.release({ port: a.port }).map((l) => l.service_name),
      ['api'],
    );
    assert.throws(() => reg.release({ port: a.port }), code('no_lease'));
    assert.deepEqual(reg.list(), []);
    const c = await reg.alloc({ service_name: 'run', pid: 42 });
    assert.deepEqual(
      reg.list().map((l) => l.port),
      [c.port],
    );
    alive.delete(42);
    assert.deepEqual(reg.expire(), [], 'expire() looks at TTLs only');
    assert.deepEqual(reg.sweep(), [c], 'the process of a lease is gone (run killed): freed before its TTL');
  });

  test('bad input is a 400 naming the field', async (t) => {
    const reg = new LeaseRegistry(tempState(t).open().database, { isFree: async () => true });
    await assert.rejects(reg.alloc({}), code('bad_service'));
    await assert.rejects(reg.alloc({ service_name: 'has space' }), code('bad_service'));
    await assert.rejects(reg.alloc({ service_name: 'x', ttl_seconds: 0 }), code('bad_ttl'));
    await assert.rejects(reg.alloc({ service_name: 'x', ttl_seconds: '5' }), code('bad_ttl'));
    await assert.rejects(reg.alloc({ service_name: 'x', port: 70000 }), code('bad_port'));
    assert.throws(() => reg.heartbeat('8000'), code('bad_port'));
  });

  test('leases survive closing and reopening the database (a daemon restart)', async (t) => {
    const s = tempState(t);
    const first = s.open();
    const lease = await new LeaseRegistry(first.database, { isFree: async () => true }).alloc({ service_name: 'db' });
    first.close();
    assert.deepEqual(new LeaseRegistry(s.open().database).list(), [lease]);
  });

  test('loopbackFree: false while something listens on the port, true once it is closed', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    assert.equal(await loopbackFree(port), false);
    await new Promise((r) => server.close(r));
    assert.equal(await loopbackFree(port), true);
  });

  test('reads answer while another process holds the write lock (a sqlite3 shell in a transaction), expired leases left out', async (t) => {
    const tmp = tempState(t);
    const state = tmp.open();
    let now = 1_000_000;
    const reg = new LeaseRegistry(state.database, { range: [21000, 21009], isFree: async () => true, now: () => now });
    await reg.alloc({ service_name: 'short', ttl_seconds: 1 });
    await reg.alloc({ service_name: 'long', ttl_seconds: 100 });
    const other = new DatabaseSync(tmp.path);
    t.after(() => other.close());
    other.exec('BEGIN EXCLUSIVE');
    assert.deepEqual(
      reg.list().map((l) => l.service_name),
      ['short', 'long'],
    );
    now += 2000; // `short` expired: freeing it needs the lock, the read does without
    assert.deepEqual(
      reg.list().map((l) => l.service_name),
      ['long'],
    );
    assert.deepEqual(
      reg.of('short').map((l) => l.port),
      [],
    );
    assert.throws(() => reg.sweep(), /database is locked/);
    other.exec('COMMIT');
    assert.deepEqual(
      reg.sweep().map((l) => l.service_name),
      ['short'],
    );
  });
});
