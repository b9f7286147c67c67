import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProfiles } from './parse-profiles.ts';
import { ProfileError } from './profile-error.ts';
import { PRODUCT_EXAMPLE } from './test-example.ts';

/** The one-line message parsing `text` throws. */
function errorOf(text: string): string {
  try {
    parseProfiles(text, 'port-linker.yml', { home: '/home/dev' });
  } catch (err) {
    assert.ok(err instanceof ProfileError, String(err));
    assert.equal(err.code, 'EPROFILE');
    assert.doesNotMatch(err.message, /\n/);
    assert.equal(err.message, `${err.file}:${err.line}:${err.col}: ${err.reason}`);
    return err.message;
  }
  assert.fail('no error');
}
const profile = (body: string) => `version: 1\nprofiles:\n  devbox:\n    host: dev@devbox\n${body}`;

test('the error carries file, line and col', () => {
  try {
    parseProfiles('version: 2\nprofiles: {}\n', 'dir/p.yml', { home: '/h' });
    assert.fail('no error');
  } catch (err) {
    assert.ok(err instanceof ProfileError && err instanceof Error);
    assert.deepEqual([err.name, err.file, err.line, err.col], ['ProfileError', 'dir/p.yml', 1, 10]);
  }
});

test('a value outside its set names the allowed values', () => {
  assert.equal(
    errorOf(PRODUCT_EXAMPLE.replace('auto: true   ', 'protocol: tpc')),
    'port-linker.yml:8:15: profiles.devbox.protocol must be one of tcp, udp, both (got "tpc")',
  );
  assert.equal(
    errorOf(profile('    attributes:\n      3000: { on_forward: open }\n')),
    'port-linker.yml:6:27: profiles.devbox.attributes["3000"].on_forward must be one of notify, open-browser, silent, ignore (got "open")',
  );
});

test('an unknown key is reported at the key, with the key it was probably meant to be', () => {
  assert.equal(
    errorOf(PRODUCT_EXAMPLE.replace('ports:', 'prots:')),
    'port-linker.yml:9:5: unknown key "prots" in profiles.devbox (did you mean "ports"?)',
  );
  // A typo of a required key is the typo, not "has no host".
  assert.equal(
    errorOf('version: 1\nprofiles:\n  devbox:\n    hots: devbox\n'),
    'port-linker.yml:4:5: unknown key "hots" in profiles.devbox (did you mean "host"?)',
  );
  assert.equal(
    errorOf(profile('    bindAddress: auto\n')),
    'port-linker.yml:5:5: unknown key "bindAddress" in profiles.devbox (did you mean "bind_address"?)',
  );
  assert.equal(
    errorOf(profile('    attributes:\n      3000: { lable: web }\n')),
    'port-linker.yml:6:15: unknown key "lable" in profiles.devbox.attributes["3000"] (did you mean "label"?)',
  );
  assert.match(
    errorOf('version: 1\nprofiles: { a: { host: h } }\nzzz: 1\n'),
    /^port-linker\.yml:3:1: unknown key "zzz" at the top level \(known keys: version, profiles\)$/,
  );
});

test('YAML syntax errors are one line at their position', () => {
  assert.equal(
    errorOf(profile('    ports: 3000\n    ports: 4000\n')),
    'port-linker.yml:6:5: duplicate key "ports" (keys must be unique within a map); remove or rename one',
  );
  assert.equal(
    errorOf(profile('    attributes:\n      3000: {}\n      "3000": {}\n')),
    'port-linker.yml:7:7: duplicate key "3000" (keys must be unique within a map); remove or rename one',
  );
  assert.equal(
    errorOf(profile('\tjump: x\n')),
    'port-linker.yml:5:1: a tab is used as indentation; indent with spaces',
  );
  assert.match(
    errorOf('version: 1\nprofiles:\n  devbox: { host: x\n'),
    /^port-linker\.yml:4:1: YAML syntax error: Flow map .*; fix the YAML here/,
  );
  assert.equal(
    errorOf(profile('    jump: *bastion\n')),
    'port-linker.yml:5:11: alias *bastion has no anchor &bastion before it; define the anchor first',
  );
  assert.equal(
    errorOf('version: 1\n---\nprofiles: {}\n'),
    'port-linker.yml:2:1: a second YAML document starts here ("---"); keep the profiles in one document',
  );
});

test('version, empty file, top level, missing host', () => {
  assert.equal(
    errorOf('version: 2\nprofiles: { a: { host: h } }\n'),
    'port-linker.yml:1:10: version must be 1 (got 2); write version: 1 (the only version so far)',
  );
  assert.equal(
    errorOf('profiles: { a: { host: h } }\n'),
    'port-linker.yml:1:1: the file has no version; add "version: 1" as the first line',
  );
  for (const empty of ['', '\n\n', '# nothing yet\n']) {
    assert.equal(
      errorOf(empty),
      'port-linker.yml:1:1: the file is empty; start it with "version: 1" and a profiles: map',
    );
  }
  assert.equal(
    errorOf('- devbox\n'),
    'port-linker.yml:1:1: the file must be a map with version: 1 and profiles: (got a list)',
  );
  assert.equal(
    errorOf('version: 1\nprofiles: {}\n'),
    'port-linker.yml:2:11: profiles is empty; add a profile, e.g. devbox: { host: dev@devbox }',
  );
  assert.equal(
    errorOf('version: 1\nprofiles:\n  web: { host: w }\n  devbox:\n    jump: bastion\n'),
    'port-linker.yml:4:3: profiles.devbox has no host; add host: [user@]host[:port] or an ssh_config alias',
  );
  assert.equal(
    errorOf('version: 1\nprofiles:\n  devbox:\n    host:\n'),
    'port-linker.yml:4:10: profiles.devbox.host must be a string (got nothing)',
  );
});

test('the first problem in the file is the one reported', () => {
  assert.equal(
    errorOf(profile('    transport: fast\n    protocol: tpc\n')),
    'port-linker.yml:5:16: profiles.devbox.transport must be one of auto, stdio, tcp, quic (got "fast")',
  );
});

test('bad ports and ranges point at the item', () => {
  assert.equal(
    errorOf(profile('    ports: 3000,9000-8000\n')),
    'port-linker.yml:5:17: profiles.devbox.ports has "9000-8000", which is not a port or range; use ports 1-65535 and ranges low-high, e.g. 3000,5173,8000-8999',
  );
  assert.match(
    errorOf(profile('    exclude: [22, 70000]\n')),
    /^port-linker\.yml:5:19: profiles\.devbox\.exclude\[1\] must be a port 1-65535 \(got 70000\)$/,
  );
  assert.match(
    errorOf(profile('    ports: 3000;4000\n')),
    /^port-linker\.yml:5:12: profiles\.devbox\.ports must be ports and ranges like/,
  );
  assert.equal(
    errorOf(profile('    attributes:\n      9000-8000: {}\n')),
    'port-linker.yml:6:7: attributes key "9000-8000" in profiles.devbox must be a port 1-65535 or a range low-high with low <= high',
  );
  assert.equal(
    errorOf(profile('    attributes:\n      web: {}\n')),
    'port-linker.yml:6:7: attributes key "web" in profiles.devbox must be a port or a range like 8000-8999',
  );
  assert.equal(
    errorOf(profile('    attributes:\n      3000: {}\n      "03000": {}\n')),
    'port-linker.yml:7:7: attributes key "03000" in profiles.devbox names the same ports as "3000"; keep one',
  );
});

test('bad forwards point at the entry', () => {
  assert.equal(
    errorOf(profile('    forwards:\n      - 5432:db\n')),
    'port-linker.yml:6:9: profiles.devbox.forwards[0] "5432:db" is not an -L forward; use [bind:]local:host:remote with ports 0-65535 (remote 1-65535), e.g. 5432:db.internal:5432',
  );
  assert.equal(
    errorOf(profile('    forwards:\n      - { local: "db:5433", remote_port: 5432 }\n')),
    'port-linker.yml:6:18: profiles.devbox.forwards[0].local "db:5433": "db" is not an IP address; bind to 127.0.0.1, ::1, localhost or *',
  );
  assert.equal(
    errorOf(profile('    forwards:\n      - { name: replica, local: 5433 }\n')),
    'port-linker.yml:6:9: profiles.devbox.forwards[0] has no remote_port; add remote_port: <port> (the port on remote_host)',
  );
  assert.equal(
    errorOf(profile('    forwards:\n      - { type: dynamic, local: 1080, remote_port: 1 }\n')),
    'port-linker.yml:6:39: profiles.devbox.forwards[0].remote_port: remote_port does not belong in a dynamic forward; remove it (a dynamic forward takes local)',
  );
  assert.equal(
    errorOf(profile('    forwards:\n      - { type: socks, local: 1080 }\n')),
    'port-linker.yml:6:17: profiles.devbox.forwards[0].type must be one of local, remote, dynamic (got "socks")',
  );
  assert.equal(
    errorOf(
      profile(
        '    forwards:\n      - { name: a, local: 1, remote_port: 2 }\n      - { name: a, local: 3, remote_port: 4 }\n',
      ),
    ),
    'port-linker.yml:7:17: profiles.devbox.forwards[1].name "a" is already the name of forwards[0]; give each forward its own name',
  );
});

test('checks the command line also makes', () => {
  assert.equal(
    errorOf(profile('    auto: false\n')),
    'port-linker.yml:5:11: profiles.devbox.auto is false but there are no forwards; add forwards: [8080:localhost:80] or remove auto: false',
  );
  assert.equal(
    errorOf(profile('    bind_address: 0.0.0.0\n')),
    'port-linker.yml:5:19: profiles.devbox.bind_address "0.0.0.0": port-linker listens on loopback only; use 127.0.0.x, ::1 or auto',
  );
  assert.equal(
    errorOf(profile('    options: { ServerAliveInterval: 15, serveraliveinterval: 30 }\n')),
    'port-linker.yml:5:41: ssh option serveraliveinterval in profiles.devbox.options repeats ServerAliveInterval (ssh options ignore case); keep one',
  );
  assert.equal(
    errorOf(profile('    options: { "Server Alive": 15 }\n')),
    'port-linker.yml:5:16: ssh option "Server Alive" in profiles.devbox.options must be an option name like ServerAliveInterval',
  );
  assert.equal(
    errorOf('version: 1\nprofiles:\n  devbox:\n    host: -oProxyCommand=x\n'),
    'port-linker.yml:4:11: profiles.devbox.host must be [user@]host[:port] or an ssh_config alias (no spaces, not starting with "-") (got "-oProxyCommand=x")',
  );
  assert.equal(
    errorOf('version: 1\nprofiles:\n  my box: { host: h }\n'),
    'port-linker.yml:3:3: profile name "my box" must start with a letter or digit and use only letters, digits, ".", "_" and "-"; rename it',
  );
  assert.equal(
    errorOf(profile('    identity: []\n')),
    'port-linker.yml:5:15: profiles.devbox.identity is an empty list; list at least one value or remove the key',
  );
});

test('a problem in a merged-in map is reported where it is written', () => {
  assert.equal(
    errorOf('version: 1\nx-base: &base\n  prots: 3000\nprofiles:\n  a:\n    <<: *base\n    host: h\n'),
    'port-linker.yml:3:3: unknown key "prots" in profiles.a (did you mean "ports"?)',
  );
});

test('a list or map as a key is an error at the key, with no warning from the YAML library on stderr', () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    assert.equal(
      errorOf('version: 1\nprofiles:\n  ? [a, b]\n  : { host: x }\n'),
      'port-linker.yml:3:5: a list or map is used as a key here; keys must be names or numbers',
    );
    assert.equal(
      errorOf(profile('    options: { {ServerAliveInterval: 1}: 15 }\n')),
      'port-linker.yml:5:16: a list or map is used as a key here; keys must be names or numbers',
    );
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings, []);
});

test('nesting thousands deep is one clear line, not a stack overflow', () => {
  assert.equal(
    errorOf(profile(`    ports: ${'['.repeat(5000)}${']'.repeat(5000)}\n`)).replace(/:5:\d+:/, ':5:N:'),
    'port-linker.yml:5:N: lists or maps nest too deeply here (thousands of levels); a profiles file needs a few',
  );
});

test('20,000 profiles parse in seconds, and a duplicate after them is found (no quadratic key checks)', () => {
  let text = 'version: 1\nprofiles:\n';
  for (let i = 0; i < 20_000; i++) text += `  p${i}:\n    host: h${i}\n    ports: "3000"\n`;
  let t0 = performance.now();
  assert.equal(parseProfiles(text, 'port-linker.yml', { home: '/h' }).profiles.length, 20_000);
  const ms = performance.now() - t0;
  assert.ok(ms < 5000, `${ms.toFixed(0)} ms (it was 13 s before the key checks were made linear)`);
  t0 = performance.now();
  assert.equal(
    errorOf(`${text}  p1:\n    host: again\n`),
    'port-linker.yml:60003:3: duplicate key "p1" (keys must be unique within a map); remove or rename one',
  );
  assert.ok(performance.now() - t0 < 5000);
});
