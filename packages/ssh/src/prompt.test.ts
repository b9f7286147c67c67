import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { askpassProgram, runAskpass, ttyPrompter } from './prompt.ts';

describe('prompting', () => {
  test('no TTY under the test runner: no prompter', () => {
    assert.equal(process.stdin.isTTY === true && process.stderr.isTTY === true, false);
    assert.equal(ttyPrompter(), undefined);
  });

  test("askpass follows OpenSSH's SSH_ASKPASS_REQUIRE and DISPLAY rules", () => {
    const p = '/bin/askpass';
    assert.equal(askpassProgram({ SSH_ASKPASS: p }, false), undefined, 'no display');
    assert.equal(askpassProgram({ SSH_ASKPASS: p, DISPLAY: ':0' }, false), p);
    assert.equal(askpassProgram({ SSH_ASKPASS: p, DISPLAY: ':0' }, true), undefined, 'a TTY wins by default');
    assert.equal(askpassProgram({ SSH_ASKPASS: p, SSH_ASKPASS_REQUIRE: 'force' }, true), p);
    assert.equal(askpassProgram({ SSH_ASKPASS: p, SSH_ASKPASS_REQUIRE: 'prefer', WAYLAND_DISPLAY: 'w' }, true), p);
    assert.equal(askpassProgram({ SSH_ASKPASS: p, SSH_ASKPASS_REQUIRE: 'never', DISPLAY: ':0' }, false), undefined);
    assert.equal(askpassProgram({ SSH_ASKPASS_REQUIRE: 'force' }, false), '/usr/bin/ssh-askpass');
  });

  test('runAskpass returns the first line, undefined on failure', async () => {
    assert.equal(await runAskpass('/bin/echo', 'secret-line', {}), 'secret-line');
    assert.equal(await runAskpass('/bin/false', 'q', {}), undefined);
    assert.equal(await runAskpass('/nonexistent/askpass', 'q', {}), undefined);
  });
});
