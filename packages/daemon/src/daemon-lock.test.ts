import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { acquireLock, DaemonRunningError, lockHolder } from './daemon-lock.ts';

test('one holder at a time; the second is told who holds it; release frees it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pl-lock-'));
  try {
    const path = join(dir, 'daemon.pid');
    const release = acquireLock(path, dir);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(lockHolder(path), process.pid);
    assert.throws(
      () => acquireLock(path, dir),
      (err: unknown) => err instanceof DaemonRunningError && err.pid === process.pid && err.message.includes(dir),
    );
    release();
    assert.equal(existsSync(path), false);
    acquireLock(path, dir)();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a lock left by a dead process (kill -9) or a reused pid is taken over', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pl-lock-'));
  try {
    const path = join(dir, 'daemon.pid');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(path, `${dead.stdout} 123\n`);
    assert.equal(lockHolder(path), undefined);
    acquireLock(path, dir)();
    // our own pid, but with another start time: a pid reused by another program
    writeFileSync(path, `${process.pid} 1\n`);
    if (process.platform === 'linux') assert.equal(lockHolder(path), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
