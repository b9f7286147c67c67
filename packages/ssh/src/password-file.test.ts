import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { passwordFilePrompter, readPasswordFile } from './password-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'pl-pwfile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a 0600 file gives its first line; anything looser, a link, a missing or empty file is refused', () => {
  const f = join(dir, 'pw');
  writeFileSync(f, 'sekrit\nignored\n', { mode: 0o600 });
  assert.equal(readPasswordFile(f), 'sekrit');
  chmodSync(f, 0o640);
  assert.throws(() => readPasswordFile(f), /readable by others \(mode 0640\): run chmod 600/);
  chmodSync(f, 0o600);
  symlinkSync(f, join(dir, 'link'));
  assert.throws(() => readPasswordFile(join(dir, 'link')), /is a symbolic link/);
  assert.throws(() => readPasswordFile(join(dir, 'none')), /does not exist/);
  writeFileSync(join(dir, 'empty'), '\n', { mode: 0o600 });
  assert.throws(() => readPasswordFile(join(dir, 'empty')), /is empty/);
});

test('the prompter answers password questions only (a passphrase or a host key question is refused)', async () => {
  const f = join(dir, 'pw2');
  writeFileSync(f, 'sekrit', { mode: 0o600 });
  const p = passwordFilePrompter(f);
  assert.equal(await p.ask("me@h's password: ", { secret: true }), 'sekrit');
  await assert.rejects(p.ask('Enter passphrase for key: ', { secret: true }));
  await assert.rejects(p.ask('Are you sure you want to continue connecting (yes/no)? ', { secret: false }));
});
