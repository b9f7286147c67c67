import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { DesiredState } from './desired-state.ts';
import { parseHostSpec } from './host-spec.ts';

const dirOf = () => mkdtempSync(join(tmpdir(), 'pl-state-'));

test('hosts survive a reopen, in the order they were added; a replaced host keeps its place', () => {
  const dir = dirOf();
  try {
    const path = join(dir, 'state.db');
    const s = new DesiredState(path);
    s.put('b', parseHostSpec({ id: 'b', target: 'dev@b' }), 1);
    s.put('a', parseHostSpec({ id: 'a', target: 'a', ports: '3000' }), 2);
    s.put('b', parseHostSpec({ id: 'b', target: 'dev@b:2222' }), 3);
    s.close();
    const again = new DesiredState(path);
    const hosts = again.hosts();
    assert.deepEqual(
      hosts.map((h) => [h.id, h.spec.target]),
      [
        ['b', 'dev@b:2222'],
        ['a', 'a'],
      ],
    );
    assert.equal(hosts[1]?.spec.ports, '3000');
    assert.equal(again.delete('a'), true);
    assert.equal(again.delete('a'), false);
    assert.deepEqual(
      again.hosts().map((h) => h.id),
      ['b'],
    );
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the database is in WAL mode at the current schema version', () => {
  const dir = dirOf();
  try {
    const path = join(dir, 'state.db');
    new DesiredState(path).close();
    const db = new DatabaseSync(path);
    assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
    assert.equal(
      (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version,
      DesiredState.version,
    );
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the database and its WAL files are 0600 whatever the umask, also when the file existed world-readable', () => {
  const dir = dirOf();
  const umask = process.umask(0o022);
  try {
    const fresh = join(dir, 'fresh.db');
    const state = new DesiredState(fresh);
    state.database.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    for (const f of [fresh, `${fresh}-wal`]) assert.equal(statSync(f).mode & 0o777, 0o600, f);
    state.close();
    const old = join(dir, 'old.db');
    writeFileSync(old, '');
    chmodSync(old, 0o644);
    new DesiredState(old).close();
    assert.equal(statSync(old).mode & 0o777, 0o600);
  } finally {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a database from a newer port-linker is refused with what to do', () => {
  const dir = dirOf();
  try {
    const path = join(dir, 'state.db');
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA user_version = ${DesiredState.version + 5}`);
    db.close();
    assert.throws(() => new DesiredState(path), /newer than this port-linker knows.*upgrade port-linker/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
