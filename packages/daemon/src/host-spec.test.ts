import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostOptionsOf, parseHostSpec, sameSpec } from './host-spec.ts';

test('a bare target gets the command line defaults and is its own id', () => {
  const spec = parseHostSpec({ target: 'dev@devbox' });
  assert.equal(spec.id, 'dev@devbox');
  assert.deepEqual(hostOptionsOf(spec), {
    auto: true,
    protocol: 'both',
    transport: 'auto',
    dataPath: 'auto',
    agent: 'auto',
    conflict: 'remap',
    localForwards: [],
    defaultExcludes: true,
    logLevel: 'info',
  });
});

test('bad bodies get one line naming the field', () => {
  assert.throws(() => parseHostSpec(undefined), /must be object/);
  assert.throws(() => parseHostSpec([]), /must be object/);
  assert.throws(() => parseHostSpec({}), /must have required property 'target'/);
  assert.throws(() => parseHostSpec({ target: 'a', prots: '1' }), /unknown field "prots"/);
  assert.throws(
    () => parseHostSpec({ target: 'a', protocol: 'tpc' }),
    /^Error: protocol: must be one of tcp, udp, both$/,
  );
  assert.throws(() => parseHostSpec({ target: '-oProxyCommand=x' }), /target: must match/);
  assert.throws(() => parseHostSpec({ target: 'a', ssh_options: ['nope'] }), /ssh_options\.0: must match/);
  assert.throws(() => parseHostSpec({ target: 'a', bind_address: '0.0.0.0' }), /loopback only/);
  assert.throws(() => parseHostSpec({ target: 'a'.repeat(5000) }), /target: must NOT have more than 1024 characters/);
});

test('auto: false with no forward is a pooled connection (exec, cp ride on it); the password file is a path', () => {
  const spec = parseHostSpec({ target: 'a', auto: false, password_file: '/home/me/.pw' });
  assert.equal(spec.auto, false);
  assert.deepEqual(spec.local_forwards, []);
  assert.equal(hostOptionsOf(spec).passwordFile, '/home/me/.pw');
});

test('the caller’s object is not changed; the same spec in another key order is the same', () => {
  const body = { target: 'a', ports: '3000' };
  const a = parseHostSpec(body);
  assert.deepEqual(body, { target: 'a', ports: '3000' });
  const b = parseHostSpec({ ports: '3000', target: 'a' });
  assert.ok(sameSpec(a, b));
  assert.ok(!sameSpec(a, parseHostSpec({ target: 'a', ports: '3001' })));
});

test('data_path takes the four data paths, openssh included; anything else is one line', () => {
  for (const kind of ['auto', 'direct', 'ssh', 'openssh'] as const)
    assert.equal(hostOptionsOf(parseHostSpec({ target: 'a', data_path: kind })).dataPath, kind);
  assert.throws(
    () => parseHostSpec({ target: 'a', data_path: 'ssh-L' }),
    /^Error: data_path: must be one of auto, direct, ssh, openssh$/,
  );
});
