import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PortLinkerClient } from '../packages/client/src/index.ts';
import { RemoteHost } from './harness/index.ts';
import { CLI } from './support/cli-process.ts';
import { runCli } from './support/cli-run.ts';

/** Runs the CLI with `input` on its stdin (runCli's stdin is closed). */
function cliWithInput(
  args: string[],
  env: NodeJS.ProcessEnv,
  input: string | undefined,
  onSpawn?: (pid: number) => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (onSpawn && stdout.includes('ready')) {
        onSpawn(child.pid as number);
        onSpawn = undefined;
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`port-linker ${args.join(' ')} hung; stderr: ${stderr}`));
    }, 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

/** Every regular file under `dir` with its SHA-256, mode and mtime (seconds), by relative path. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else {
        const hash = createHash('sha256').update(readFileSync(p)).digest('hex');
        out[relative(dir, p)] = `${hash} ${(st.mode & 0o7777).toString(8)} ${Math.floor(st.mtimeMs / 1000)}`;
      }
    }
  };
  walk(dir);
  return out;
}

describe('the connection pool: exec, cp, connect and test over the daemon (a real sshd)', () => {
  let host: RemoteHost;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let target: string;
  /** A password login other than root (OpenSSH passes signals to such sessions only; root's keys file is 0600). */
  let userTarget: string;
  const password = `pw-${randomBytes(6).toString('hex')}`;
  before(async () => {
    host = await RemoteHost.start({ quietShell: true });
    const user = `plpool${randomBytes(3).toString('hex')}`;
    await host.addUser(user, password);
    userTarget = `${user}@${host.address}`;
    dir = mkdtempSync(join(tmpdir(), 'pl-pool-'));
    env = { PORT_LINKER_HOME: join(dir, 'state'), PORT_LINKER_LOG: undefined, XDG_RUNTIME_DIR: undefined };
    target = host.target;
    const up = await runCli(['connect', ...host.portLinkerArgs(), '--no-auto', target], env);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stdout, `${target}\n`, 'connect prints the connection id');
  });
  after(async () => {
    await runCli(['daemon', 'stop'], env);
    await host?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('exec streams stdin, stdout and stderr and passes the exit code, over the daemon connection', async () => {
    const r = await cliWithInput(
      ['exec', target, '--', 'read line; echo "got $line"; echo oops >&2; exit 7'],
      env,
      'hello\n',
    );
    assert.equal(r.stdout, 'got hello\n');
    assert.equal(r.stderr, 'oops\n');
    assert.equal(r.code, 7);
    // without `--`, as with ssh; the command's own options are left alone
    const ls = await runCli(['exec', target, 'ls', '-d', '/tmp'], env);
    assert.equal(ls.stdout, '/tmp\n', ls.stderr);
    assert.equal(ls.code, 0);
    // a large output arrives whole (backpressure through the daemon)
    const big = await runCli(['exec', target, '--', 'head -c 5000000 /dev/zero | tr "\\0" a'], env);
    assert.equal(big.stdout.length, 5_000_000);
    assert.equal(big.code, 0);
  });

  test('a signal is passed to the remote command, and a command killed by one exits 128+n', async () => {
    // (sshd refuses signals to a root login's session: "session signalling requires privilege separation")
    const pw = join(dir, 'signal-password');
    writeFileSync(pw, password, { mode: 0o600 });
    const login = ['-o', `UserKnownHostsFile=${host.knownHostsPath}`, '--password-file', pw];
    const r = await cliWithInput(
      [
        'exec',
        ...login,
        userTarget,
        '--',
        'trap "echo caught TERM; exit 3" TERM; echo ready; while :; do sleep 0.1; done',
      ],
      env,
      undefined,
      (pid) => process.kill(pid, 'SIGTERM'),
    );
    assert.match(r.stdout, /ready\ncaught TERM\n/, `exit ${r.code}: ${r.stderr}`);
    assert.equal(r.code, 3);
    const killed = await runCli(['exec', target, '--', 'kill -KILL $$'], env);
    assert.equal(killed.code, 128 + 9);
  });

  test('--password-file logs in with a password (0600 only); the password is nowhere else', async () => {
    const pw = join(dir, 'password');
    writeFileSync(pw, `${password}\n`, { mode: 0o644 });
    chmodSync(pw, 0o644);
    const opts = ['-o', `UserKnownHostsFile=${host.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes'];
    const loose = await runCli(['exec', ...opts, '--password-file', pw, userTarget, '--', 'id -un'], env);
    assert.equal(loose.code, 255);
    assert.match(loose.stderr, /readable by others \(mode 0644\): run chmod 600/);
    chmodSync(pw, 0o600);
    const user = userTarget.split('@')[0] as string;
    const r = await runCli(['exec', ...opts, '--password-file', pw, `${user}@${host.address}:22`, '--', 'id -un'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${user}\n`);
    const t = await runCli(['test', ...opts, '--password-file', pw, userTarget], env);
    assert.equal(t.code, 0, t.stdout + t.stderr);
    assert.match(t.stdout, /ok +auth .* password/);
    const state = join(dir, 'state');
    for (const f of readdirSync(state)) {
      const p = join(state, f);
      if (statSync(p).isFile()) assert.ok(!readFileSync(p).includes(password), `the password is in ${f}`);
    }
  });

  test('-t gives the command a terminal; the client library follows window size changes', async () => {
    const r = await runCli(['exec', '-t', target, '--', 'tty'], env);
    assert.match(r.stdout, /^\/dev\/pts\/\d+\r?\n$/);
    const pl = new PortLinkerClient({ env: { ...process.env, ...env } });
    const s = await pl.exec(target, 'stty size; read x; stty size', { pty: { rows: 30, cols: 100, term: 'xterm' } });
    let out = '';
    s.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    while (!out.includes('30 100')) await new Promise((r) => s.stdout.once('data', r));
    s.resize(40, 120);
    s.stdin.write('go\n');
    const exit = await s.exit;
    assert.equal(exit.code, 0);
    assert.match(out, /30 100[\s\S]*40 120/);
    assert.equal(s.started.connection, target);
    assert.equal(s.started.opened, false, 'the daemon host connection is reused');
  });

  test('200 concurrent commands on one connection (queued past MaxSessions) each return their own output', async () => {
    const pl = new PortLinkerClient({ env: { ...process.env, ...env } });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => pl.run(target, `echo ${i}`)));
    assert.deepEqual(
      results.map((r) => `${r.code}:${r.stdout.toString()}`),
      results.map((_, i) => `0:${i}\n`),
    );
  });

  test('a target the daemon does not hold gets an on-demand connection, kept for --persist', async () => {
    const other = `${host.user}@${host.address}:22`;
    const flags = host.portLinkerArgs();
    const r = await runCli(['exec', ...flags, '--persist', '30', other, '--', 'echo on-demand'], env);
    assert.equal(r.stdout, 'on-demand\n', r.stderr);
    const pl = new PortLinkerClient({ env: { ...process.env, ...env } });
    const pooled = await pl.connections();
    assert.equal(pooled.length, 1);
    assert.equal(pooled[0]?.id, other);
    assert.ok(pooled[0]?.expires_at, 'kept open for --persist');
    const again = await pl.exec(other, 'true');
    assert.equal(again.started.opened, false, 'the pooled connection is reused');
    again.stdin.end();
    assert.equal((await again.exit).code, 0);
    // a host that cannot be reached: one line, exit 255 (ssh's own failure code)
    const bad = await runCli(['exec', '-o', 'ConnectTimeout=2', 'root@127.0.0.1:1', '--', 'true'], env);
    assert.equal(bad.code, 255);
    assert.match(bad.stderr, /^port-linker: exec root@127\.0\.0\.1:1: .*(refused|connect)/i);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  });

  test('cp -r uploads and downloads a tree with scp semantics, verified by hash, mode and mtime', async () => {
    const src = join(dir, 'src');
    mkdirSync(join(src, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(src, 'big.bin'), randomBytes(3 * 1024 * 1024 + 17));
    writeFileSync(join(src, 'empty'), '');
    writeFileSync(join(src, 'sub', 'script.sh'), '#!/bin/sh\necho hi\n');
    chmodSync(join(src, 'sub', 'script.sh'), 0o751);
    for (let i = 0; i < 50; i++) writeFileSync(join(src, 'sub', 'deeper', `f${i}.txt`), `file ${i}\n`.repeat(i));
    utimesSync(join(src, 'big.bin'), 1_600_000_000, 1_600_000_000);
    symlinkSync('sub/script.sh', join(src, 'link-to-script'));
    const remoteDir = join(dir, 'remote-side'); // the "remote" shares this file system (a network namespace)
    mkdirSync(remoteDir);
    const up = await runCli(['cp', '-r', src, `${target}:${remoteDir}/`], env);
    assert.equal(up.code, 0, up.stderr);
    const expected = tree(src);
    assert.deepEqual(tree(join(remoteDir, 'src')), expected, 'upload: same bytes, modes and times');
    // the link was followed, as scp does
    assert.ok(statSync(join(remoteDir, 'src', 'link-to-script')).isFile());
    const back = join(dir, 'back');
    const down = await runCli(['cp', '-r', `${target}:${remoteDir}/src`, back], env);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(tree(back), expected, 'download into a new directory: the tree itself');
    // one file onto a new name, relative to the remote login directory
    const one = await runCli(['cp', join(src, 'empty'), `${target}:${remoteDir}/renamed`], env);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(readFileSync(join(remoteDir, 'renamed'), 'utf8'), '');
  });

  test('cp says what is wrong in one line per problem and copies the rest', async () => {
    const missing = await runCli(['cp', join(dir, 'nope'), `${target}:/tmp/`], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope: No such file or directory/);
    const a = join(dir, 'a.txt');
    writeFileSync(a, 'a');
    const unwritable = await runCli(['cp', a, `${target}:/proc/port-linker-test`], env);
    assert.equal(unwritable.code, 1);
    assert.match(unwritable.stderr, /\/proc\/port-linker-test: (Permission denied|No such file|.*)/);
    const dirNoR = await runCli(['cp', dir, `${target}:/tmp/`], env);
    assert.equal(dirNoR.code, 1);
    assert.match(dirNoR.stderr, /is a directory \(use -r\)/);
    const noHost = await runCli(['cp', a, join(dir, 'b')], env);
    assert.equal(noHost.code, 2);
    assert.match(noHost.stderr, /neither side names a host/);
    const remoteMissing = await runCli(['cp', `${target}:/nonexistent/file`, dir], env);
    assert.equal(remoteMissing.code, 1);
    assert.match(remoteMissing.stderr, /:\/nonexistent\/file: No such file or directory/);
  });

  test('the client library adds and removes a forward; test checks a host step by step', async () => {
    const pl = new PortLinkerClient({ env: { ...process.env, ...env } });
    const key = await pl.addForward(target, '127.0.0.1:0:127.0.0.1:22');
    assert.match(key, /^explicit\//);
    const hosts = await pl.hosts();
    assert.ok(hosts[0]?.forwards.some((f) => f.spec.key === key));
    await pl.removeForward(target, key);
    assert.ok(!(await pl.hosts())[0]?.forwards.some((f) => f.spec.key === key));
    const t = await runCli(['test', ...host.portLinkerArgs(), '--json', target], env);
    assert.equal(t.code, 0, t.stderr);
    const report = JSON.parse(t.stdout) as { ok: boolean; steps: Array<{ name: string; ok: boolean; ms: number }> };
    assert.deepEqual(
      report.steps.map((s) => [s.name, s.ok]),
      [
        ['connect', true],
        ['auth', true],
        ['exec', true],
        ['channel', true],
      ],
    );
    // the README's example, as a user runs it
    const example = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, '../examples/client.ts'), target],
        {
          env: { ...process.env, ...env },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
      });
      child.on('exit', (code) => resolve({ code, out }));
    });
    assert.equal(example.code, 0);
    assert.match(example.out, /uname -a exited 0: Linux /);
    assert.match(example.out, /forward explicit\/127\.0\.0\.1:18080 listens/);
    const bad = await runCli(['test', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', target], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /FAIL {2}connect/);
  });
});
