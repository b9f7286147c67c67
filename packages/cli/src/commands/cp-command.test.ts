import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOperand, planCopy, progressLine } from './cp-command.ts';

test('operands are split like scp: a colon before any slash makes it remote', () => {
  assert.deepEqual(parseOperand('devbox:/tmp/x'), { host: 'devbox', path: '/tmp/x' });
  assert.deepEqual(parseOperand('me@devbox:'), { host: 'me@devbox', path: '' });
  assert.deepEqual(parseOperand('me@[::1]:a b'), { host: 'me@::1', path: 'a b' });
  assert.deepEqual(parseOperand('[fd00::2]:x'), { host: 'fd00::2', path: 'x' });
  assert.deepEqual(parseOperand('/abs/a:b'), { path: '/abs/a:b' });
  assert.deepEqual(parseOperand('./a:b'), { path: './a:b' });
  assert.deepEqual(parseOperand('dir/a:b'), { path: 'dir/a:b' });
  assert.deepEqual(parseOperand('plain'), { path: 'plain' });
});

test('a copy has every source on one side; local paths are made absolute', () => {
  assert.deepEqual(planCopy(['a', 'b', 'h:/d/'], '/w'), {
    target: 'h',
    direction: 'up',
    sources: ['/w/a', '/w/b'],
    dest: '/d/',
  });
  assert.deepEqual(planCopy(['h:x', 'h:y', '.'], '/w'), {
    target: 'h',
    direction: 'down',
    sources: ['x', 'y'],
    dest: '/w',
  });
  assert.throws(() => planCopy(['a'], '/w'), /at least one SOURCE and a DEST/);
  assert.throws(() => planCopy(['a', 'b'], '/w'), /neither side names a host/);
  assert.throws(() => planCopy(['h:a', 'g:b'], '/w'), /two remote paths/);
  assert.throws(() => planCopy(['h:a', 'g:b', '/x'], '/w'), /on 2 hosts/);
  assert.throws(() => planCopy(['h:a', 'b', '/x'], '/w'), /same side/);
});

test('the progress line fits the terminal and names the file', () => {
  const line = progressLine(
    { event: 'progress', bytes: 512 * 1024, totalBytes: 1024 * 1024, files: 1, totalFiles: 4, current: 'h:/tmp/f' },
    1000,
    100,
  );
  assert.match(line, /\[#+\.+\] {2}50% 512 KiB\/1\.0 MiB 512 KiB\/s {2}1\/4 files {2}h:\/tmp\/f$/);
  assert.ok(line.length < 100);
});
