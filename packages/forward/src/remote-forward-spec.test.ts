import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from './errors.ts';
import { describeRemoteTarget, parseRemoteForward } from './remote-forward-spec.ts';

test('parseRemoteForward reads every -R form of OpenSSH', () => {
  const plain = parseRemoteForward('9000:localhost:3000');
  assert.deepEqual(
    [plain.bindAddress, plain.port, plain.target],
    ['localhost', 9000, { kind: 'tcp', host: 'localhost', port: 3000 }],
  );
  assert.equal(plain.key, 'remote/localhost:9000');
  assert.equal(parseRemoteForward('*:9000:h:1').bindAddress, '', '* asks for every address (GatewayPorts decides)');
  assert.equal(parseRemoteForward(':9000:h:1').bindAddress, '');
  assert.equal(parseRemoteForward('[::1]:9000:h:1').bindAddress, '::1');
  assert.equal(parseRemoteForward('0:h:1').port, 0, 'port 0: the server picks');
  assert.deepEqual(parseRemoteForward('9000:/tmp/local.sock').target, { kind: 'unix', path: '/tmp/local.sock' });
  const sock = parseRemoteForward('/tmp/remote.sock:127.0.0.1:80');
  assert.deepEqual(
    [sock.path, sock.key, sock.target.kind],
    ['/tmp/remote.sock', 'remote/unix:/tmp/remote.sock', 'tcp'],
  );
  assert.deepEqual(parseRemoteForward('/tmp/r.sock:/tmp/l.sock').target, { kind: 'unix', path: '/tmp/l.sock' });
  assert.deepEqual(parseRemoteForward('1080').target, { kind: 'socks' }, 'port alone: dynamic reverse');
  assert.deepEqual(parseRemoteForward('127.0.0.1:1080').target, { kind: 'socks' });
});

test('parseRemoteForward rejects junk with the expected forms', () => {
  for (const bad of ['', 'x', 'a:b:c', '1:h:0', '1:h:99999', 'host.example:1:h:2', '/tmp/r.sock', '1:2:3:4:5']) {
    assert.throws(
      () => parseRemoteForward(bad),
      (e: unknown) => e instanceof UsageError && /^-R .*expected \[bind:\]port:host:hostport/.test(e.message),
      bad,
    );
  }
  assert.throws(() => parseRemoteForward('9000:rel.sock/x'), /absolute path/);
});

test('describeRemoteTarget', () => {
  assert.equal(describeRemoteTarget({ kind: 'tcp', host: '::1', port: 80 }), '[::1]:80');
  assert.equal(describeRemoteTarget({ kind: 'unix', path: '/a.sock' }), '/a.sock');
  assert.equal(describeRemoteTarget({ kind: 'socks' }), 'socks');
});
