import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, HostKeyError, type Prompter, resolveHost } from '@port-linker/ssh';
import { RemoteHost, run } from './harness/index.ts';

describe('host key verification against a real sshd', () => {
  let host: RemoteHost;
  let dir: string;
  let ecdsaPub: string;
  let otherKey: string; // some other ed25519 key: a "changed" host key
  let fp: string;
  let n = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pl-ssh-hk-'));
    await run(['ssh-keygen', '-q', '-t', 'ecdsa', '-N', '', '-f', join(dir, 'host_ecdsa')]);
    await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other')]);
    ecdsaPub = readFileSync(join(dir, 'host_ecdsa.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    otherKey = readFileSync(join(dir, 'other.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    host = await RemoteHost.start({ sshdConfig: [`HostKey ${join(dir, 'host_ecdsa')}`, 'ListenAddress 0.0.0.0:2222'] });
    writeFileSync(join(dir, 'hostkey.pub'), `${host.hostPublicKey}\n`);
    fp = (await run(['ssh-keygen', '-l', '-E', 'sha256', '-f', join(dir, 'hostkey.pub')])).stdout.split(' ')[1] ?? '';
    assert.match(fp, /^SHA256:/);
  });
  after(async () => {
    await host?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh known_hosts file with these lines. */
  function knownHosts(lines: string[]): string {
    const file = join(dir, `known_hosts_${n++}`);
    writeFileSync(file, lines.map((l) => `${l}\n`).join(''), { mode: 0o600 });
    return file;
  }

  function target(file: string, policy: string, extra: string[] = []) {
    return resolveHost(
      { host: host.address, user: 'root' },
      {
        identities: [host.clientKeyPath],
        options: [
          `UserKnownHostsFile=${file}`,
          'GlobalKnownHostsFile=none',
          `StrictHostKeyChecking=${policy}`,
          ...extra,
        ],
      },
      { home: dir, systemConfigFile: null },
    );
  }

  async function ok(file: string, policy: string, extra: string[] = [], prompt?: Prompter): Promise<void> {
    const conn = await connect(target(file, policy, extra), { env: {}, ...(prompt ? { prompt } : {}) });
    assert.equal((await conn.exec('echo ok')).stdout.toString(), 'ok\n');
    conn.close();
  }

  async function refused(file: string, policy: string, problem: string, extra: string[] = [], prompt?: Prompter) {
    let caught: unknown;
    try {
      const conn = await connect(target(file, policy, extra), { env: {}, ...(prompt ? { prompt } : {}) });
      conn.close();
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof HostKeyError, `expected HostKeyError, got ${String(caught)}`);
    assert.equal(caught.code, 'HOST_KEY');
    assert.equal(caught.problem, problem);
    assert.match(caught.message, new RegExp(`root@${host.address.replaceAll('.', '\\.')}:`));
    assert.doesNotMatch(caught.message, /\n/);
    return caught;
  }

  for (const policy of ['yes', 'accept-new', 'ask', 'no']) {
    test(`${policy}: a known key (plain entry) connects`, async () => {
      await ok(knownHosts([`${host.address} ${host.hostPublicKey}`]), policy);
    });

    test(`${policy}: a known key (hashed |1| entry) connects`, async () => {
      const file = knownHosts([`${host.address} ${host.hostPublicKey}`]);
      await run(['ssh-keygen', '-H', '-f', file]);
      assert.match(readFileSync(file, 'utf8'), /^\|1\|/);
      await ok(file, policy);
    });

    test(`${policy}: a changed key is refused, even with a prompter`, async () => {
      let asked = 0;
      const prompt: Prompter = {
        ask: async () => {
          asked++;
          return 'yes';
        },
      };
      const err = await refused(knownHosts([`${host.address} ${otherKey}`]), policy, 'changed', [], prompt);
      assert.match(err.message, /HOST KEY CHANGED/);
      assert.match(err.message, /ssh-keygen -R/);
      assert.equal(asked, 0);
    });

    test(`${policy}: a changed key behind a hashed entry is refused`, async () => {
      const file = knownHosts([`${host.address} ${otherKey}`]);
      await run(['ssh-keygen', '-H', '-f', file]);
      await refused(file, policy, 'changed');
    });
  }

  test('yes: an unknown key is refused and nothing is written', async () => {
    const file = knownHosts([]);
    const err = await refused(file, 'yes', 'unknown');
    assert.match(err.message, /StrictHostKeyChecking=yes/);
    assert.ok(err.message.includes(fp), 'names the fingerprint');
    assert.equal(readFileSync(file, 'utf8'), '');
  });

  test('accept-new: an unknown key is recorded in OpenSSH format and OpenSSH accepts the file', async () => {
    const file = knownHosts([]);
    await ok(file, 'accept-new');
    const text = readFileSync(file, 'utf8');
    assert.equal(text, `${host.address} ${host.hostPublicKey}\n`);
    const found = await run(['ssh-keygen', '-F', host.address, '-f', file]);
    assert.match(found.stdout, /ssh-ed25519/);
    const r = await run([
      'ssh',
      ...host.sshArgs().map((a) => (a === host.knownHostsPath ? file : a)),
      'echo',
      'openssh-ok',
    ]);
    assert.equal(r.stdout.trim(), 'openssh-ok');
    await ok(file, 'yes'); // and now it is known
  });

  test('accept-new with HashKnownHosts=yes writes a hashed entry ssh-keygen -F finds', async () => {
    const file = knownHosts([]);
    await ok(file, 'accept-new', ['HashKnownHosts=yes']);
    assert.match(readFileSync(file, 'utf8'), /^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+ ssh-ed25519 /);
    const found = await run(['ssh-keygen', '-F', host.address, '-f', file]);
    assert.match(found.stdout, /ssh-ed25519/);
  });

  test('accept-new creates a missing known_hosts 0600 in a 0700 directory', async () => {
    const file = join(dir, `fresh-${n++}`, 'known_hosts');
    await ok(file, 'accept-new');
    const { statSync } = await import('node:fs');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(file, '..')).mode & 0o777, 0o700);
  });

  test('ask without a TTY refuses an unknown key', async () => {
    const err = await refused(knownHosts([]), 'ask', 'unknown');
    assert.match(err.message, /no terminal to confirm/);
  });

  test('ask shows the fingerprint; "yes" records the key, "no" refuses it', async () => {
    const questions: string[] = [];
    const yes: Prompter = {
      ask: async (q) => {
        questions.push(q);
        return 'yes';
      },
    };
    const file = knownHosts([]);
    await ok(file, 'ask', [], yes);
    assert.equal(questions.length, 1);
    assert.ok(questions[0]?.includes(fp), 'the question shows the SHA256 fingerprint');
    assert.match(questions[0] ?? '', /continue connecting \(yes\/no\/\[fingerprint\]\)/);
    assert.match(readFileSync(file, 'utf8'), /ssh-ed25519/);
    const no: Prompter = { ask: async () => 'no' };
    const file2 = knownHosts([]);
    await refused(file2, 'ask', 'unknown', [], no);
    assert.equal(readFileSync(file2, 'utf8'), '');
  });

  test('ask accepts the typed fingerprint', async () => {
    const file = knownHosts([]);
    await ok(file, 'ask', [], { ask: async () => fp });
    assert.match(readFileSync(file, 'utf8'), /ssh-ed25519/);
  });

  test('no: an unknown key is accepted (and recorded, as OpenSSH does)', async () => {
    const file = knownHosts([]);
    await ok(file, 'no');
    assert.match(readFileSync(file, 'utf8'), /ssh-ed25519/);
  });

  test('a non-22 port is looked up as [host]:port', async () => {
    await refused(knownHosts([`${host.address} ${host.hostPublicKey}`]), 'yes', 'unknown', ['Port=2222']);
    await ok(knownHosts([`[${host.address}]:2222 ${host.hostPublicKey}`]), 'yes', ['Port=2222']);
    const file = knownHosts([]);
    await ok(file, 'accept-new', ['Port=2222']);
    assert.equal(readFileSync(file, 'utf8'), `[${host.address}]:2222 ${host.hostPublicKey}\n`);
  });

  test('only an ECDSA key known: that algorithm is negotiated (multiple key types)', async () => {
    await ok(knownHosts([`${host.address} ${ecdsaPub}`]), 'yes');
  });

  test('wildcard and negated host patterns are honoured', async () => {
    await ok(knownHosts([`10.*,!192.0.2.9 ${host.hostPublicKey}`]), 'yes');
    await refused(knownHosts([`10.*,!${host.address} ${host.hostPublicKey}`]), 'yes', 'unknown');
  });

  test('a @revoked key is refused under every policy', async () => {
    const file = knownHosts([`@revoked * ${host.hostPublicKey}`, `${host.address} ${host.hostPublicKey}`]);
    for (const policy of ['yes', 'no']) await refused(file, policy, 'revoked');
  });
});
