import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from './errors.ts';
import { autoSpec, dialAddress, parseDynamicForward, parseLocalForward, splitForwardFields } from './forward-spec.ts';

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
  assert.deepEqual(
    [a.bind, a.wantedLocalPort, a.remoteHost, a.remotePort, a.key],
    [['127.0.0.1', '::1'], 8080, 'localhost', 80, 'explicit/127.0.0.1:8080'],
    'no bind address: loopback, both families, like ssh -L',
  );
  assert.equal(a.requireLocalPort, true, 'an explicit forward keeps its port or fails, as ssh -L does');
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

test('parseLocalForward reads Unix sockets on either side (a field with a slash is a path)', () => {
  const docker = parseLocalForward('2375:/var/run/docker.sock');
  assert.deepEqual([docker.wantedLocalPort, docker.remotePath, docker.remotePort], [2375, '/var/run/docker.sock', 0]);
  const both = parseLocalForward('/tmp/x.sock:/var/run/app.sock');
  assert.deepEqual(
    [both.localPath, both.remotePath, both.bind, both.key],
    ['/tmp/x.sock', '/var/run/app.sock', [], 'explicit/unix:/tmp/x.sock'],
  );
  const toTcp = parseLocalForward('/tmp/y.sock:db:5432');
  assert.deepEqual([toTcp.localPath, toTcp.remoteHost, toTcp.remotePort], ['/tmp/y.sock', 'db', 5432]);
  const bound = parseLocalForward('127.0.0.2:2376:/run/d.sock');
  assert.deepEqual([bound.bind, bound.remotePath], [['127.0.0.2'], '/run/d.sock']);
  assert.throws(() => parseLocalForward('rel/x.sock:/r.sock'), /must be an absolute path/);
});

test('bind addresses follow OpenSSH: * and empty = every interface, localhost = loopback, GatewayPorts widens none', () => {
  assert.deepEqual(parseLocalForward('*:8080:h:80').bind, ['0.0.0.0', '::']);
  assert.deepEqual(parseLocalForward(':8080:h:80').bind, ['0.0.0.0', '::']);
  assert.deepEqual(parseLocalForward('localhost:8080:h:80').bind, ['127.0.0.1', '::1']);
  assert.deepEqual(parseLocalForward('8080:h:80', { gatewayPorts: true }).bind, ['0.0.0.0', '::']);
  assert.deepEqual(parseLocalForward('127.0.0.1:8080:h:80', { gatewayPorts: true }).bind, ['127.0.0.1']);
});

test('parseDynamicForward reads -D [bind:]port', () => {
  const d = parseDynamicForward('1080');
  assert.deepEqual(
    [d.dynamic, d.wantedLocalPort, d.bind, d.key],
    [true, 1080, ['127.0.0.1', '::1'], 'dynamic/127.0.0.1:1080'],
  );
  assert.deepEqual(parseDynamicForward('[::1]:1081').bind, ['::1']);
  for (const bad of ['x', '1:2:3', '/tmp/s', 'h.example:1080', '70000']) {
    assert.throws(() => parseDynamicForward(bad), /^UsageError: -D .*expected \[bind:\]port/);
  }
});

test('splitForwardFields keeps bracketed IPv6 whole and refuses broken brackets', () => {
  assert.deepEqual(splitForwardFields('[::1]:80:[fe80::1]:81'), ['::1', '80', 'fe80::1', '81']);
  assert.deepEqual(splitForwardFields(':80:h:1'), ['', '80', 'h', '1']);
  assert.equal(splitForwardFields('[::1:80'), undefined);
  assert.equal(splitForwardFields('[::1]x:80'), undefined);
});
