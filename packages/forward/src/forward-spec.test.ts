import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from './errors.ts';
import { autoSpec, dialAddress, parseLocalForward } from './forward-spec.ts';

test('dialAddress maps wildcards to loopback and keeps 127.x listeners', () => {
  assert.equal(dialAddress(['0.0.0.0', '::']), '127.0.0.1');
  assert.equal(dialAddress(['::']), '::1');
  assert.equal(dialAddress(['::1']), '::1');
  assert.equal(dialAddress(['127.0.0.53']), '127.0.0.53');
  assert.equal(dialAddress(['10.1.2.3']), undefined);
});

test('autoSpec binds ::1 too when the remote listens on IPv6, and skips unforwardable groups', () => {
  const g = {
    protocol: 'tcp' as const,
    port: 8080,
    addresses: ['0.0.0.0', '::'],
    v6: true,
    forwardable: true,
    process: 'node',
  };
  assert.deepEqual(autoSpec(g)?.bind, ['127.0.0.1', '::1']);
  assert.equal(autoSpec({ ...g, addresses: ['10.0.0.2'], v6: false, forwardable: false }), undefined);
});

test('parseLocalForward reads the ssh -L forms', () => {
  const a = parseLocalForward('8080:localhost:80');
  assert.deepEqual([a.bind, a.wantedLocalPort, a.remoteHost, a.remotePort], [['127.0.0.1'], 8080, 'localhost', 80]);
  const b = parseLocalForward('[::1]:9000:[::1]:9001');
  assert.deepEqual([b.bind, b.wantedLocalPort, b.remoteHost, b.remotePort], [['::1'], 9000, '::1', 9001]);
  const c = parseLocalForward('127.0.0.1:0:db.internal:5432');
  assert.deepEqual([c.wantedLocalPort, c.remoteHost], [0, 'db.internal']);
});

test('parseLocalForward rejects malformed values with a one-line hint', () => {
  for (const bad of ['8080', '8080:host', 'a:b:c', '1:h:99999', 'x.y:1:h:2', '1:h:0']) {
    assert.throws(
      () => parseLocalForward(bad),
      (e: unknown) => e instanceof UsageError && /^-L /.test(e.message),
    );
  }
});
