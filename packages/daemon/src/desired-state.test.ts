import assert from 'node:assert/strict';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { DesiredState } from './desired-state.ts';
import { parseHostSpec } from './host-spec.ts';
import { stateApiError } from './state-error.ts';

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

/** `n` hosts and a lease in a closed database at `path`. */
function filled(path: string, n: number): void {
  const s = new DesiredState(path);
  for (let i = 0; i < n; i++) s.put(`h${i}`, parseHostSpec({ id: `h${i}`, target: `dev@host-${i}`, ports: '3000' }), i);
  s.database.prepare("INSERT INTO leases VALUES (8000, 'api', 1000, 1, 9999999999999, NULL)").run();
  s.close();
}

/** Overwrites `length` bytes of `path` at `at` (from the end when negative) with 0x41. */
function damage(path: string, at: number, length: number): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(length, 0x41), 0, length, at < 0 ? statSync(path).size + at : at);
  closeSync(fd);
}

test('a damaged file is moved aside (with its -wal and -shm) and a new one keeps the rows still readable', () => {
  const dir = dirOf();
  try {
    const path = join(dir, 'state.db');
    filled(path, 60);
    damage(path, -4096, 4096); // the last page: some hosts
    const s = new DesiredState(path);
    const r = s.recovered;
    assert.ok(r, 'recovered');
    assert.match(r.reason, /^database disk image is malformed/);
    assert.doesNotMatch(r.reason, /\n/);
    assert.ok(existsSync(r.movedTo), r.movedTo);
    assert.ok(r.hosts > 0 && r.hosts < 60, `${r.hosts} hosts kept`);
    assert.equal(r.leases, 1);
    assert.equal(s.hosts().length, r.hosts);
    assert.deepEqual(s.hosts()[0]?.spec.target, 'dev@host-0');
    s.put('new', parseHostSpec({ target: 'new' }));
    s.close();
    const again = new DesiredState(path);
    assert.equal(again.recovered, undefined, 'the new file is sound');
    assert.equal(again.hosts().length, r.hosts + 1);
    again.close();

    damage(path, 0, 100); // the header: not a database any more, nothing to read
    const fresh = new DesiredState(path);
    assert.equal(fresh.recovered?.reason, 'file is not a database');
    assert.equal(fresh.recovered?.hosts, 0);
    assert.deepEqual(fresh.hosts(), []);
    fresh.close();
    assert.equal(readdirSync(dir).filter((f) => /^state\.db\.corrupt-[\d-]+T[\d.-]+$/.test(f)).length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a saved spec that is not JSON (damage inside a row) is skipped and reported, the others restored', () => {
  const dir = dirOf();
  try {
    const path = join(dir, 'state.db');
    filled(path, 2);
    const db = new DatabaseSync(path);
    db.exec(`UPDATE hosts SET spec = '{"id": "h0", "targ' WHERE id = 'h0'`);
    db.close();
    const s = new DesiredState(path);
    const bad: string[] = [];
    assert.deepEqual(
      s.hosts((id, reason) => bad.push(`${id}: ${reason}`)).map((h) => h.id),
      ['h1'],
    );
    assert.match(bad.join(), /^h0: its saved spec is not JSON/);
    s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("another process's lock makes a write fail within a fraction of a second, as a 503 that says so", () => {
  const dir = dirOf();
  try {
    const path = join(dir, 'state.db');
    const s = new DesiredState(path);
    const other = new DatabaseSync(path);
    other.exec('BEGIN EXCLUSIVE');
    assert.equal(s.hosts().length, 0, 'reads go on (WAL)');
    const t0 = performance.now();
    let err: unknown;
    try {
      s.put('a', parseHostSpec({ target: 'a' }));
    } catch (e) {
      err = e;
    }
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `the write waited ${ms.toFixed(0)} ms (node:sqlite blocks the daemon meanwhile)`);
    const api = stateApiError(err, path);
    assert.equal(api?.status, 503);
    assert.equal(api?.code, 'state_locked');
    assert.match(api?.message ?? '', /is locked by another process/);
    other.exec('COMMIT');
    other.close();
    s.put('a', parseHostSpec({ target: 'a' }));
    s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
