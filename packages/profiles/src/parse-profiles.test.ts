import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PortAttributes } from '@port-linker/forward';
import { sshOptionArgs, toHostOptions } from './host-options.ts';
import { parseProfiles } from './parse-profiles.ts';
import type { Profile } from './profile.ts';
import { PRODUCT_EXAMPLE } from './test-example.ts';

const HOME = '/home/dev';
const parse = (text: string) => parseProfiles(text, 'port-linker.yml', { home: HOME });
const one = (body: string): Profile => {
  const [p] = parse(`version: 1\nprofiles:\n  p:\n${body}`).profiles;
  assert.ok(p);
  return p;
};
const at = (line: number, col: number) => ({ file: 'port-linker.yml', line, col });

test('the docs/PRODUCT.md section 9 example loads to the expected profile', () => {
  const loaded = parse(PRODUCT_EXAMPLE);
  assert.equal(loaded.file, 'port-linker.yml');
  assert.equal(loaded.profiles.length, 1);
  const { attributes, ...devbox } = loaded.profiles[0] as Profile;
  assert.deepEqual(devbox, {
    name: 'devbox',
    host: 'dev@devbox',
    jump: 'bastion',
    identities: ['/home/dev/.ssh/id_ed25519'],
    sshOptions: { ServerAliveInterval: '15' },
    auto: true,
    protocol: 'both',
    transport: 'auto',
    agent: 'auto',
    conflict: 'remap',
    ports: '3000,5173,8000-8999',
    defaultExcludes: true,
    logLevel: 'info',
    forwards: [
      { type: 'local', spec: '5432:db.internal:5432', at: at(11, 9) },
      { name: 'replica', type: 'local', spec: '5433:db-replica.internal:5432', at: at(12, 9) },
    ],
    at: at(3, 3),
  });
  assert.ok(attributes instanceof PortAttributes);
  assert.deepEqual(attributes.rules, [
    { low: 3000, high: 3000, label: 'web', onForward: 'open-browser' },
    { low: 8000, high: 8999, label: 'api', requireLocalPort: true },
  ]);
  assert.deepEqual(attributes.for(3000), { label: 'web', onForward: 'open-browser', requireLocalPort: false });
  assert.deepEqual(attributes.for(8080), { label: 'api', onForward: 'notify', requireLocalPort: true });
  assert.deepEqual(attributes.for(5173), { onForward: 'notify', requireLocalPort: false });
});

test('a profile with only a host gets the command line defaults', () => {
  const p = one('    host: devbox\n');
  const { attributes, ...rest } = p;
  assert.deepEqual(rest, {
    name: 'p',
    host: 'devbox',
    identities: [],
    sshOptions: {},
    auto: true,
    protocol: 'both',
    transport: 'auto',
    agent: 'auto',
    conflict: 'remap',
    defaultExcludes: true,
    logLevel: 'info',
    forwards: [],
    at: at(3, 3),
  });
  assert.equal(attributes.size, 0);
  assert.deepEqual(toHostOptions(p), {
    auto: true,
    protocol: 'both',
    transport: 'auto',
    agent: 'auto',
    conflict: 'remap',
    localForwards: [],
    defaultExcludes: true,
    logLevel: 'info',
  });
});

test('every per-host flag has a field, and toHostOptions gives exactly HostOptions', () => {
  const p = one(`    host: dev@devbox:2222
    jump: a@b:22,c
    identity: [~/.ssh/a, /keys/b, ./rel/~/c]
    ssh_config: ~/.ssh/other_config
    options: { StrictHostKeyChecking: no, Compression: true, ForwardAgent: false, ConnectTimeout: 5 }
    auto: false
    ports: 3000
    exclude: [9229, "9000-9100", 22]
    default_excludes: false
    protocol: udp
    transport: quic
    conflict: skip
    agent: none
    bind_address: 127.0.0.2
    log_level: debug
    forwards:
      - "[::1]:8080:[fd00::1]:80"
      - { local: "127.0.0.1:5433", remote_host: "fd00::2", remote_port: 5432 }
      - { name: db, local: 6543, remote_port: 5432 }
`);
  assert.deepEqual(p.identities, ['/home/dev/.ssh/a', '/keys/b', './rel/~/c']);
  assert.equal(p.sshConfig, '/home/dev/.ssh/other_config');
  assert.deepEqual(p.sshOptions, {
    StrictHostKeyChecking: 'no',
    Compression: 'yes',
    ForwardAgent: 'no',
    ConnectTimeout: '5',
  });
  assert.deepEqual(sshOptionArgs(p), [
    'StrictHostKeyChecking=no',
    'Compression=yes',
    'ForwardAgent=no',
    'ConnectTimeout=5',
  ]);
  assert.deepEqual(toHostOptions(p), {
    auto: false,
    protocol: 'udp',
    transport: 'quic',
    agent: 'none',
    conflict: 'skip',
    bindAddress: '127.0.0.2',
    localForwards: ['[::1]:8080:[fd00::1]:80', '127.0.0.1:5433:[fd00::2]:5432', '6543:localhost:5432'],
    forwardNames: { '6543:localhost:5432': 'db' }, // lookup db finds it (the forward's label)
    ports: '3000',
    exclude: '9229,9000-9100,22',
    defaultExcludes: false,
    logLevel: 'debug',
  });
  assert.deepEqual(
    p.forwards.map((f) => f.name),
    [undefined, undefined, 'db'],
  );
});

test('ports are normalised to the command line form', () => {
  assert.equal(one('    host: h\n    ports: " 3000 , 05173,8000-8999 "\n').ports, '3000,5173,8000-8999');
  assert.equal(one('    host: h\n    ports: [3000, 8000-8999]\n').ports, '3000,8000-8999');
  assert.equal(one('    host: h\n    exclude: 9229\n').exclude, '9229');
});

test('remote and dynamic forwards load with their type and reach the host options as -R and -D', () => {
  const p = one(`    host: h
    forwards:
      - 8080:localhost:80
      - { type: remote, remote: 9000, local_port: 3000 }
      - { type: dynamic, local: "127.0.0.1:1080" }
`);
  assert.deepEqual(
    p.forwards.map(({ type, spec }) => ({ type, spec })),
    [
      { type: 'local', spec: '8080:localhost:80' },
      { type: 'remote', spec: '9000:localhost:3000' },
      { type: 'dynamic', spec: '127.0.0.1:1080' },
    ],
  );
  const o = toHostOptions(p);
  assert.deepEqual(
    [o.localForwards, o.remoteForwards, o.dynamicForwards],
    [['8080:localhost:80'], ['9000:localhost:3000'], ['127.0.0.1:1080']],
  );
});

test('profiles, options and attributes keep file order, numeric names too', () => {
  const loaded = parse(`version: 1
profiles:
  web: { host: a }
  "2": { host: b }
  1: { host: c, options: { User: u, Port: 22 }, attributes: { "9000-9999": {}, 80: {}, 8000-8999: {} } }
`);
  assert.deepEqual(
    loaded.profiles.map((p) => p.name),
    ['web', '2', '1'],
  );
  const last = loaded.profiles[2] as Profile;
  assert.deepEqual(Object.keys(last.sshOptions), ['User', 'Port']);
  assert.deepEqual(
    last.attributes.rules.map((r) => r.low),
    [9000, 80, 8000],
  );
});

test('x- keys and << merges share settings between profiles', () => {
  const loaded = parse(`version: 1
x-defaults: &defaults
  jump: bastion
  identity: ~/.ssh/team
profiles:
  a:
    <<: *defaults
    host: a.internal
  b:
    <<: *defaults
    host: b.internal
    jump: other
`);
  assert.deepEqual(
    loaded.profiles.map((p) => [p.name, p.host, p.jump, p.identities]),
    [
      ['a', 'a.internal', 'bastion', ['/home/dev/.ssh/team']],
      ['b', 'b.internal', 'other', ['/home/dev/.ssh/team']],
    ],
  );
});

const NOTIFY = { onForward: 'notify', requireLocalPort: false };

test('attributes from YAML: port keys, quoted and unquoted range keys', () => {
  const [p] = parseProfiles(
    `version: 1
profiles:
  dev:
    host: dev
    attributes:
      3000: { label: web, on_forward: open-browser }
      "8000-8999": { label: api, require_local_port: true }
      9229-9230: { on_forward: ignore }
      8443: { on_forward: silent }
`,
    'p.yml',
    { home: '/h' },
  ).profiles;
  assert.ok(p);
  assert.deepEqual(p.attributes.for(3000), { label: 'web', onForward: 'open-browser', requireLocalPort: false });
  assert.deepEqual(p.attributes.for(8443), { label: 'api', onForward: 'silent', requireLocalPort: true });
  assert.deepEqual(p.attributes.for(9230), { onForward: 'ignore', requireLocalPort: false });
  assert.deepEqual(p.attributes.for(5173), NOTIFY);
});
