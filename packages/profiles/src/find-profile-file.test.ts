import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { findProfileFile } from './find-profile-file.ts';
import { ProfileError } from './profile-error.ts';

/** A temp tree: root/home (the home dir) and root/work/project/sub (the cwd). */
function withTree(fn: (t: { root: string; home: string; project: string; cwd: string }) => void) {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'pl-profiles-')));
  try {
    const home = join(root, 'home');
    const project = join(root, 'work', 'project');
    const cwd = join(project, 'sub');
    mkdirSync(home, { recursive: true });
    mkdirSync(cwd, { recursive: true });
    fn({ root, home, project, cwd });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
const touch = (path: string) => writeFileSync(path, 'version: 1\n');

test('nothing anywhere: undefined', () => {
  withTree(({ home, cwd }) => assert.equal(findProfileFile({ cwd, home }), undefined));
});

test('port-linker.yml in cwd, then the nearest parent, then the user file', () => {
  withTree(({ root, home, project, cwd }) => {
    const user = join(home, '.config', 'port-linker', 'profiles.yml');
    mkdirSync(join(home, '.config', 'port-linker'), { recursive: true });
    touch(user);
    assert.equal(findProfileFile({ cwd, home }), user);
    touch(join(root, 'work', 'port-linker.yml'));
    assert.equal(findProfileFile({ cwd, home }), join(root, 'work', 'port-linker.yml'));
    touch(join(project, 'port-linker.yml'));
    assert.equal(findProfileFile({ cwd, home }), join(project, 'port-linker.yml'));
    touch(join(cwd, 'port-linker.yml'));
    assert.equal(findProfileFile({ cwd, home }), join(cwd, 'port-linker.yml'));
  });
});

test('a directory named port-linker.yml is not a profiles file', () => {
  withTree(({ home, project, cwd }) => {
    mkdirSync(join(cwd, 'port-linker.yml'));
    touch(join(project, 'port-linker.yml'));
    assert.equal(findProfileFile({ cwd, home }), join(project, 'port-linker.yml'));
  });
});

test('configHome replaces <home>/.config', () => {
  withTree(({ root, home, cwd }) => {
    const xdg = join(root, 'xdg');
    mkdirSync(join(xdg, 'port-linker'), { recursive: true });
    touch(join(xdg, 'port-linker', 'profiles.yml'));
    assert.equal(findProfileFile({ cwd, home }), undefined);
    assert.equal(findProfileFile({ cwd, home, configHome: xdg }), join(xdg, 'port-linker', 'profiles.yml'));
  });
});

test('-f wins over everything, relative to cwd or from ~/, as an absolute path', () => {
  withTree(({ home, project, cwd }) => {
    touch(join(cwd, 'port-linker.yml'));
    touch(join(project, 'other.yml'));
    touch(join(home, 'mine.yml'));
    assert.equal(findProfileFile({ cwd, home, file: '../other.yml' }), join(project, 'other.yml'));
    assert.equal(findProfileFile({ cwd, home, file: join(project, 'other.yml') }), join(project, 'other.yml'));
    assert.equal(findProfileFile({ cwd, home, file: '~/mine.yml' }), join(home, 'mine.yml'));
  });
});

test('-f naming a missing file or a directory is a one-line error', () => {
  withTree(({ home, cwd }) => {
    touch(join(cwd, 'port-linker.yml'));
    assert.throws(
      () => findProfileFile({ cwd, home, file: 'nope.yml' }),
      (err: unknown) =>
        err instanceof ProfileError &&
        err.message === 'nope.yml: no such profiles file (given with -f); check the path' &&
        err.file === 'nope.yml' &&
        err.line === undefined &&
        err.code === 'EPROFILE',
    );
    assert.throws(() => findProfileFile({ cwd, home, file: '.' }), {
      message: '.: is a directory (given with -f); name the profiles file itself',
    });
  });
});
