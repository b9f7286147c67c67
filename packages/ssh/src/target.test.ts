import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SshUsageError } from './errors.ts';
import { matchPattern, matchPatternList } from './host-pattern.ts';
import { parseJumpList, parseTarget } from './target.ts';

describe('parseTarget', () => {
  test('accepts the forms users type', () => {
    assert.deepEqual(parseTarget('host'), { host: 'host' });
    assert.deepEqual(parseTarget('alice@host'), { host: 'host', user: 'alice' });
    assert.deepEqual(parseTarget('alice@host:2222'), { host: 'host', user: 'alice', port: 2222 });
    assert.deepEqual(parseTarget('me@corp.com@host'), { host: 'host', user: 'me@corp.com' });
    assert.deepEqual(parseTarget('[::1]:2200'), { host: '::1', port: 2200 });
    assert.deepEqual(parseTarget('root@[fe80::1%eth0]'), { host: 'fe80::1%eth0', user: 'root' });
    assert.deepEqual(parseTarget('2001:db8::7'), { host: '2001:db8::7' });
    assert.deepEqual(parseTarget('ssh://u@h:22'), { host: 'h', user: 'u', port: 22 });
    assert.deepEqual(parseTarget('10.0.0.1:22'), { host: '10.0.0.1', port: 22 });
  });

  test('rejects junk with a USAGE error', () => {
    for (const bad of [
      '',
      ' host',
      'host:',
      'host:0',
      'host:65536',
      'host:abc',
      '@host',
      'a b',
      '-oProxyCommand=x',
      'h/x',
      '[::1',
    ]) {
      assert.throws(
        () => parseTarget(bad),
        (e: unknown) => e instanceof SshUsageError && e.code === 'USAGE',
        bad,
      );
    }
  });

  test('jump lists', () => {
    assert.deepEqual(parseJumpList('a,u@b:2'), [{ host: 'a' }, { host: 'b', user: 'u', port: 2 }]);
  });
});

describe('OpenSSH patterns', () => {
  test('* and ? (exactly one character), case-sensitive unless asked', () => {
    assert.ok(matchPattern('web-01', 'web-??'));
    assert.ok(!matchPattern('web-1', 'web-??'));
    assert.ok(matchPattern('a.b.c', '*.c'));
    assert.ok(matchPattern('', '*'));
    assert.ok(!matchPattern('API.PROD', '*.prod'));
    assert.ok(matchPattern('API.PROD', '*.prod', true));
    assert.ok(matchPattern('aaa', '*a*a*a*'));
    assert.ok(!matchPattern('aa', '*a*a*a*'));
  });

  test('a matching negation vetoes the list', () => {
    assert.equal(matchPatternList('x.prod', ['*.prod', '!x.prod']), -1);
    assert.equal(matchPatternList('y.prod', ['*.prod', '!x.prod']), 1);
    assert.equal(matchPatternList('z', ['!x']), 0);
  });
});
