import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuthError, connect, type Prompter, type ResolvedHost, resolveHost } from '@port-linker/ssh';
import { killTree, RemoteHost, run, waitFor } from './harness/index.ts';

describe('ssh authentication against a real sshd', () => {
  let host: RemoteHost;
  let dir: string;
  let encryptedKey: string;
  const passphrase = `pp-${randomBytes(6).toString('hex')}`;
  const userName = `pltest${randomBytes(3).toString('hex')}`;
  const userPassword = `pw-${randomBytes(6).toString('hex')}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pl-ssh-auth-'));
    host = await RemoteHost.start({ sshdConfig: ['PasswordAuthentication yes', 'KbdInteractiveAuthentication no'] });
    encryptedKey = join(dir, 'id_encrypted');
    await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', passphrase, '-C', 'encrypted', '-f', encryptedKey]);
    rmSync(`${encryptedKey}.pub`); // the public half must come from the encrypted file itself
    const pub = await run(['ssh-keygen', '-y', '-P', passphrase, '-f', encryptedKey]);
    appendFileSync(join(host.dir, 'authorized_keys'), pub.stdout);
    await host.addUser(userName, userPassword);
  });
  after(async () => {
    await host?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The harness host as root with only the given identities (none: no key at all). */
  function target(options: string[], identities: string[] = [], user = host.user): ResolvedHost {
    return resolveHost(
      { host: host.address, user },
      {
        identities,
        options: [
          `UserKnownHostsFile=${host.knownHostsPath}`,
          'StrictHostKeyChecking=yes',
          ...(identities.length ? [] : ['IdentityFile=none']),
          ...options,
        ],
      },
      { home: dir, systemConfigFile: null },
    );
  }

  test('key auth with an identity file', async () => {
    const conn = await connect(target([], [host.clientKeyPath]), { env: {} });
    assert.equal((await conn.exec('id -un')).stdout.toString(), 'root\n');
    conn.close();
  });

  test('an encrypted key is unlocked through SSH_ASKPASS (no TTY)', async () => {
    const askpass = join(dir, 'askpass.sh');
    const asked = join(dir, 'asked.txt');
    writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' "$1" >> "${asked}"\nprintf '%s\\n' "$TEST_PASSPHRASE"\n`, {
      mode: 0o700,
    });
    const logs: string[] = [];
    const conn = await connect(target([], [encryptedKey]), {
      env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', TEST_PASSPHRASE: passphrase, PATH: process.env.PATH },
      log: (_l, m) => logs.push(m),
    });
    assert.equal((await conn.exec('echo in')).stdout.toString(), 'in\n');
    conn.close();
    assert.match(readFileSync(asked, 'utf8'), new RegExp(`Enter passphrase for key '${encryptedKey}'`));
    assert.ok(!logs.join('\n').includes(passphrase), 'the passphrase must never be logged');
  });

  test('an encrypted key is unlocked on the prompter after a wrong passphrase', async () => {
    const answers = ['wrong', passphrase];
    const questions: string[] = [];
    const prompt: Prompter = {
      ask: async (q, { secret }) => {
        questions.push(`${secret}:${q}`);
        return answers.shift() ?? '';
      },
    };
    const conn = await connect(target([], [encryptedKey]), { env: {}, prompt });
    conn.close();
    assert.deepEqual(questions, [
      `true:Enter passphrase for key '${encryptedKey}': `,
      `true:Enter passphrase for key '${encryptedKey}': `,
    ]);
  });

  test('an encrypted key without TTY or askpass fails fast with AuthError', async () => {
    await assert.rejects(connect(target([], [encryptedKey]), { env: {} }), (err: unknown) => {
      assert.ok(err instanceof AuthError, String(err));
      assert.equal(err.code, 'AUTH');
      assert.match(err.message, new RegExp(`root@${host.address.replaceAll('.', '\\.')}:22: authentication failed`));
      assert.match(err.message, /encrypted; no terminal or SSH_ASKPASS/);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  });

  test('ssh-agent auth (SSH_AUTH_SOCK) with no identity file', async () => {
    const sock = join(dir, 'agent.sock');
    const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      await waitFor(async () => existsSync(sock), 'ssh-agent socket', 5000);
      const env = { ...process.env, SSH_AUTH_SOCK: sock };
      await new Promise<void>((resolve, reject) => {
        const add = spawn('ssh-add', [host.clientKeyPath], { env, stdio: 'ignore' });
        add.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ssh-add exited ${code}`))));
      });
      const logs: string[] = [];
      const conn = await connect(target([]), { env: { SSH_AUTH_SOCK: sock }, log: (_l, m) => logs.push(m) });
      assert.equal((await conn.exec('echo agent')).stdout.toString(), 'agent\n');
      conn.close();
      assert.ok(logs.some((m) => /ssh-agent/.test(m)));
      // the same target with no agent fails: proves the agent did the work
      await assert.rejects(connect(target([]), { env: {} }), AuthError);
      // IdentitiesOnly: the agent may only use keys named by IdentityFile (a lone .pub is enough)
      const onlyPub = join(dir, 'agent_key_ref');
      writeFileSync(`${onlyPub}.pub`, readFileSync(`${host.clientKeyPath}.pub`));
      const viaPub = await connect(target(['IdentitiesOnly=yes'], [onlyPub]), { env: { SSH_AUTH_SOCK: sock } });
      viaPub.close();
      await assert.rejects(
        connect(target(['IdentitiesOnly=yes'], [encryptedKey]), { env: { SSH_AUTH_SOCK: sock } }),
        AuthError,
      );
    } finally {
      if (agent.pid) killTree(agent.pid, 'SIGTERM');
    }
  });

  test('password auth asks on the prompter (a TTY stand-in) and never logs the password', async () => {
    const questions: string[] = [];
    const prompter: Prompter = {
      ask: async (q, { secret }) => {
        questions.push(`${secret ? 'secret' : 'plain'}:${q}`);
        return userPassword;
      },
    };
    const logs: string[] = [];
    const conn = await connect(target([], [], userName), { env: {}, prompt: prompter, log: (_l, m) => logs.push(m) });
    assert.equal((await conn.exec('id -un')).stdout.toString(), `${userName}\n`);
    conn.close();
    assert.deepEqual(questions, [`secret:${userName}@${host.address}'s password: `]);
    assert.ok(!logs.join('\n').includes(userPassword));
  });

  test('a wrong password is asked NumberOfPasswordPrompts times, then AuthError', async () => {
    let asked = 0;
    const prompter: Prompter = {
      ask: async () => {
        asked++;
        return 'wrong';
      },
    };
    await assert.rejects(
      connect(target(['NumberOfPasswordPrompts=2'], [], userName), { env: {}, prompt: prompter }),
      AuthError,
    );
    assert.equal(asked, 2);
  });

  test('without a TTY, password auth is not attempted and the error says what to do', async () => {
    await assert.rejects(connect(target([], [], userName), { env: {} }), (err: unknown) => {
      assert.ok(err instanceof AuthError);
      assert.match(err.message, /server accepts: publickey,password/);
      assert.match(err.message, /run on a terminal to type a password/);
      return true;
    });
  });

  test('BatchMode=yes never prompts, even with a prompter', async () => {
    let asked = 0;
    const prompter: Prompter = {
      ask: async () => {
        asked++;
        return userPassword;
      },
    };
    await assert.rejects(connect(target(['BatchMode=yes'], [], userName), { env: {}, prompt: prompter }), AuthError);
    assert.equal(asked, 0);
  });
});
