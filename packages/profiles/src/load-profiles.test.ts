import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadProfiles } from './load-profiles.ts';
import { PRODUCT_EXAMPLE } from './test-example.ts';

function withDir(fn: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'pl-load-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('loads a file from disk; errors name that path', () => {
  withDir((dir) => {
    const file = join(dir, 'port-linker.yml');
    writeFileSync(file, PRODUCT_EXAMPLE);
    const loaded = loadProfiles(file, { home: '/home/dev' });
    assert.equal(loaded.file, file);
    assert.deepEqual(
      loaded.profiles.map((p) => [p.name, p.host, p.at]),
      [['devbox', 'dev@devbox', { file, line: 3, col: 3 }]],
    );
    writeFileSync(file, PRODUCT_EXAMPLE.replace('jump:', 'jmp:'));
    assert.throws(() => loadProfiles(file, { home: '/h' }), {
      message: `${file}:5:5: unknown key "jmp" in profiles.devbox (did you mean "jump"?)`,
    });
  });
});

test('a missing file or a directory is a one-line error without a position', () => {
  withDir((dir) => {
    assert.throws(() => loadProfiles(join(dir, 'none.yml'), { home: '/h' }), {
      message: `${join(dir, 'none.yml')}: no such file; check the path`,
      line: undefined,
    });
    assert.throws(() => loadProfiles(dir, { home: '/h' }), {
      message: `${dir}: is a directory, not a profiles file; name the YAML file itself`,
    });
  });
});

test('a file over 1 MiB, or one that never ends (/dev/zero), is refused without reading it all', () => {
  withDir((dir) => {
    const file = join(dir, 'port-linker.yml');
    writeFileSync(file, `${PRODUCT_EXAMPLE}${'# padding\n'.repeat(120_000)}`);
    assert.throws(() => loadProfiles(file, { home: '/h' }), {
      message: `${file}: is over 1 MiB, more than a profiles file ever needs; is it the right file?`,
      line: undefined,
    });
    writeFileSync(file, `${PRODUCT_EXAMPLE}${'# padding\n'.repeat(90_000)}`);
    assert.equal(loadProfiles(file, { home: '/h' }).profiles.length, 1, 'just under 1 MiB is read');
  });
  if (process.platform !== 'win32')
    assert.throws(() => loadProfiles('/dev/zero', { home: '/h' }), { message: /^\/dev\/zero: is over 1 MiB/ });
});
