import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { apiToken } from './api-token.ts';

describe('the loopback API token file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pl-token-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('created 0600 once, then the same token', () => {
    const first = apiToken(dir);
    assert.equal(statSync(first.path).mode & 0o777, 0o600);
    assert.equal(first.replaced, false);
    assert.match(first.value, /^[\w-]{43}$/);
    assert.equal(apiToken(dir).value, first.value);
  });

  test('a token file others could read is made 0600 and its token replaced (it may be known)', () => {
    const state = join(dir, 'loose');
    mkdirSync(state);
    const path = join(state, 'api-token');
    const known = 'a-token-from-a-backup-restored-world-readable-0644';
    writeFileSync(path, `${known}\n`);
    chmodSync(path, 0o644);
    const t = apiToken(state);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(t.replaced, true);
    assert.notEqual(t.value, known);
    assert.equal(readFileSync(path, 'utf8').trim(), t.value, 'the file holds the token in use');
    assert.equal(apiToken(state).value, t.value, 'and keeps it from then on');
  });

  test('a link or a directory in its place is refused', () => {
    const linked = join(dir, 'linked');
    mkdirSync(linked);
    writeFileSync(join(dir, 'elsewhere'), `${'x'.repeat(43)}\n`, { mode: 0o600 });
    symlinkSync(join(dir, 'elsewhere'), join(linked, 'api-token'));
    assert.throws(() => apiToken(linked), /api-token: a symbolic link; delete it/);
    const squatted = join(dir, 'squatted');
    mkdirSync(join(squatted, 'api-token'), { recursive: true });
    assert.throws(() => apiToken(squatted), /api-token: .*delete it/);
  });
});
