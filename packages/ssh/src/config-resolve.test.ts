import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ResolvedHost, resolveHost, type SshCliOptions } from './config-resolve.ts';
import { SshUsageError } from './errors.ts';
import { parseTarget } from './target.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/ssh-config');
const LOCAL_USER = 'tester';

interface Query {
  target: string;
  cli?: SshCliOptions;
  expect: Record<string, unknown>;
}

/** Replaces `~` and `$LOCALUSER` placeholders in expected values. */
function expand(value: unknown, home: string): unknown {
  if (typeof value === 'string') return value.replace(/^~(?=\/|$)/, home).replaceAll('$LOCALUSER', LOCAL_USER);
  if (Array.isArray(value)) return value.map((v) => expand(v, home));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v, home)]));
  }
  return value;
}

/** Checks the fields named in `expected` (proxyJump entries partially, hop by hop). */
function assertSubset(actual: ResolvedHost, expected: Record<string, unknown>, where: string): void {
  for (const [key, want] of Object.entries(expected)) {
    const got = actual[key as keyof ResolvedHost];
    if (key === 'proxyJump') {
      const hops = got as ResolvedHost[];
      const wantHops = want as Record<string, unknown>[];
      assert.equal(hops.length, wantHops.length, `${where}: proxyJump length`);
      wantHops.forEach((w, i) => {
        assertSubset(hops[i] as ResolvedHost, w, `${where} hop ${i}`);
      });
    } else {
      assert.deepEqual(got, want, `${where}: ${key}`);
    }
  }
}

describe('ssh_config resolution against the fixture corpus', () => {
  let home: string;
  before(() => {
    home = mkdtempSync(join(tmpdir(), 'pl-ssh-config-'));
    symlinkSync(FIXTURES, join(home, '.ssh')); // relative Includes resolve in ~/.ssh, as OpenSSH does
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  const cases = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
  assert.ok(cases.length >= 8, 'the corpus is there');
  for (const file of cases) {
    const name = file.replace(/\.json$/, '');
    test(name, () => {
      const { queries } = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as { queries: Query[] };
      for (const q of queries) {
        const where = `${name}: ${q.target} ${JSON.stringify(q.cli ?? {})}`;
        const resolved = resolveHost(
          parseTarget(q.target),
          { configFile: join(FIXTURES, `${name}.config`), ...q.cli },
          { home, user: LOCAL_USER, systemConfigFile: null },
        );
        assertSubset(resolved, expand(q.expect, home) as Record<string, unknown>, where);
      }
    });
  }
});

describe('config files and defaults', () => {
  let home: string;
  before(() => {
    home = mkdtempSync(join(tmpdir(), 'pl-ssh-config-'));
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  function write(name: string, text: string): string {
    const path = join(home, name);
    writeFileSync(path, text);
    return path;
  }

  test('~/.ssh/config is read first, then the system file; -F replaces both', () => {
    mkdirSync(join(home, '.ssh'), { recursive: true });
    write('.ssh/config', 'Host a\n  User from-user-config\n');
    const system = write('system_config', 'Host *\n  User from-system\n  Port 2200\n');
    const env = { home, user: LOCAL_USER, systemConfigFile: system };
    const r = resolveHost({ host: 'a' }, {}, env);
    assert.equal(r.user, 'from-user-config');
    assert.equal(r.port, 2200);
    const f = resolveHost({ host: 'a' }, { configFile: write('only', 'Port 2300\n') }, env);
    assert.equal(f.user, LOCAL_USER);
    assert.equal(f.port, 2300);
  });

  test('defaults: user, port 22, keepalive 15 s x3, ask, known_hosts files, default identities', () => {
    const r = resolveHost({ host: 'plain' }, { configFile: 'none' }, { home, user: LOCAL_USER });
    assert.deepEqual(
      {
        user: r.user,
        port: r.port,
        sai: r.serverAliveInterval,
        max: r.serverAliveCountMax,
        shkc: r.strictHostKeyChecking,
      },
      { user: LOCAL_USER, port: 22, sai: 15, max: 3, shkc: 'ask' },
    );
    assert.deepEqual(r.userKnownHostsFiles, [`${home}/.ssh/known_hosts`, `${home}/.ssh/known_hosts2`]);
    assert.deepEqual(r.identityFiles, [`${home}/.ssh/id_ed25519`, `${home}/.ssh/id_ecdsa`, `${home}/.ssh/id_rsa`]);
    assert.equal(r.ciphers, undefined);
  });

  test('bad values are usage errors naming the option and where it came from', () => {
    const cfg = write('bad_port', 'Host x\n  Port 99999\n');
    assert.throws(
      () => resolveHost({ host: 'x' }, { configFile: cfg }, { home }),
      (e: unknown) => {
        assert.ok(e instanceof SshUsageError);
        assert.equal(e.code, 'USAGE');
        assert.match(e.message, /port "99999" \(.*bad_port\)/);
        return true;
      },
    );
    assert.throws(
      () => resolveHost({ host: 'x' }, { configFile: 'none', options: ['NoValue'] }, { home }),
      /bad -o option/,
    );
    assert.throws(
      () => resolveHost({ host: 'x' }, { configFile: 'none', options: ['StrictHostKeyChecking=maybe'] }, { home }),
      /StrictHostKeyChecking "maybe"/,
    );
    assert.throws(
      () => resolveHost({ host: 'x' }, { configFile: join(home, 'missing') }, { home }),
      /cannot read ssh config/,
    );
    assert.throws(
      () => resolveHost({ host: 'x' }, { configFile: write('bad_match', 'Match colour blue\n  Port 1\n') }, { home }),
      /unsupported Match attribute "colour"/,
    );
    assert.throws(
      () => resolveHost({ host: 'x' }, { configFile: 'none', options: ['Ciphers=3des-cbc-nope'] }, { home }),
      /leaves no cipher/,
    );
    assert.throws(
      () => resolveHost({ host: 'x' }, { configFile: 'none', options: ['IdentityFile=~/%z'] }, { home }),
      /token %z/,
    );
  });

  test('a ProxyJump loop is a usage error, not a hang', () => {
    const cfg = write('loop', 'Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n');
    assert.throws(() => resolveHost({ host: 'a' }, { configFile: cfg }, { home }), /ProxyJump chain .* deeper/);
  });

  test('Match final re-reads Host lines against the HostName', () => {
    const cfg = write(
      'final',
      'Host short\n  HostName long.example.com\nMatch final\nHost long.example.com\n  Port 2999\n',
    );
    assert.equal(resolveHost({ host: 'short' }, { configFile: cfg }, { home }).port, 2999);
  });
});
