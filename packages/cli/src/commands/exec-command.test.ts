import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitExecOperands } from '../daemon-commands.ts';
import { connectionOptions, EXEC_FAILED, signalExitCode } from './exec-command.ts';

test('exec without --: options and the target, then the command with its own options', () => {
  assert.deepEqual(splitExecOperands(['-t', '-i', 'key', 'host', 'ls', '-la']), {
    options: ['-t', '-i', 'key', 'host'],
    command: ['ls', '-la'],
  });
  assert.deepEqual(splitExecOperands(['--persist', '30', 'h']), { options: ['--persist', '30', 'h'], command: [] });
});

test('a remote killed by a signal exits as a shell reports it; an unknown one as a failure', () => {
  assert.equal(signalExitCode('KILL'), 137);
  assert.equal(signalExitCode('SIGTERM'), 143);
  assert.equal(signalExitCode('NOPE'), EXEC_FAILED);
});

test('connection flags go to the daemon with absolute paths and no empty fields', () => {
  assert.deepEqual(connectionOptions({ identity: ['k'], o: [], passwordFile: 'pw', persist: 5 }, '/w'), {
    identities: ['/w/k'],
    password_file: '/w/pw',
    persist: 5,
  });
  assert.deepEqual(connectionOptions({ identity: [], o: [] }, '/w'), {});
});

test('exec arguments are read without commander; anything unknown goes to commander', async () => {
  const { parseExecArgs } = await import('./exec-args.ts');
  assert.deepEqual(parseExecArgs(['-t', '-i', 'k', '-oBatchMode=yes', '--persist', '9', 'h', 'ls', '-la']), {
    target: 'h',
    command: ['ls', '-la'],
    flags: { identity: ['k'], o: ['BatchMode=yes'], tty: true, persist: 9 },
  });
  assert.deepEqual(parseExecArgs(['h', '--', 'a', '--', 'b'])?.command, ['a', '--', 'b']);
  assert.deepEqual(parseExecArgs(['-n', 'h'])?.flags.stdinNull, true);
  for (const bad of [['--help'], ['-i'], ['--tyt', 'h'], ['--persist', 'x', 'h'], [], ['--', 'cmd']])
    assert.equal(parseExecArgs(bad), undefined, bad.join(' '));
});
