import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AuthError,
  ChannelError,
  ConnectError,
  connect,
  parseTarget,
  type ResolvedHost,
  resolveHost,
  type SshConnection,
} from '@port-linker/ssh';
import { RemoteHost, run } from './harness/index.ts';

function harnessTarget(h: RemoteHost, home: string, extra: string[] = []): ResolvedHost {
  return resolveHost(
    { host: h.address, user: h.user },
    {
      identities: [h.clientKeyPath],
      options: [`UserKnownHostsFile=${h.knownHostsPath}`, 'StrictHostKeyChecking=yes', ...extra],
    },
    { home, systemConfigFile: null },
  );
}

describe('ssh connection helpers against a real sshd', () => {
  let host: RemoteHost;
  let home: string;
  let conn: SshConnection;
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'pl-ssh-home-'));
    host = await RemoteHost.start({ sshdConfig: ['Subsystem sftp internal-sftp'] });
    conn = await connect(harnessTarget(host, home));
  });
  after(async () => {
    conn?.close();
    await host?.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('exec returns stdout, stderr and the exit code; stdin is delivered', async () => {
    const r = await conn.exec('echo out; echo err >&2; exit 7');
    assert.equal(r.code, 7);
    assert.equal(r.stdout.toString(), 'out\n');
    assert.equal(r.stderr, 'err\n');
    const cat = await conn.exec('cat', { stdin: 'piped' });
    assert.equal(cat.code, 0);
    assert.equal(cat.stdout.toString(), 'piped');
  });

  test('exec with timeoutMs rejects with a ChannelError', async () => {
    await assert.rejects(conn.exec('sleep 5', { timeoutMs: 200 }), (err: unknown) => {
      assert.ok(err instanceof ChannelError);
      assert.match(err.message, /did not finish within 200 ms/);
      return true;
    });
  });

  test('spawn streams a long-running process and reports its exit', async () => {
    const ch = await conn.spawn('read line; echo "got $line"; exit 3');
    let out = '';
    ch.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    ch.stdin.write('hello\n');
    const exit = await ch.exit;
    assert.equal(exit.code, 3);
    assert.equal(out, 'got hello\n');
  });

  test('writeFile uploads over SFTP with the mode', async () => {
    const path = join(host.dir, 'uploaded.bin');
    await conn.writeFile(path, Buffer.from('payload'), 0o700);
    const r = await conn.exec(`stat -c %a ${path}; cat ${path}`);
    assert.equal(r.stdout.toString(), '700\npayload');
  });

  test('forwardOut reaches a loopback-only service inside the namespace', async () => {
    const svc = await host.serve('tcp-echo', 0, '127.0.0.1');
    try {
      const ch = await conn.forwardOut('127.0.0.1', svc.port);
      const echoed = await new Promise<string>((resolve) => {
        let s = '';
        ch.on('data', (d: Buffer) => {
          s += d;
          if (s.length >= 4) resolve(s);
        });
        ch.write('ping');
      });
      assert.equal(echoed, 'ping');
      ch.destroy();
    } finally {
      await svc.stop();
    }
  });

  test('forwardOut to a closed port names the server reason', async () => {
    await assert.rejects(conn.forwardOut('127.0.0.1', 1), (err: unknown) => {
      assert.ok(err instanceof ChannelError);
      assert.equal(err.code, 'CHANNEL');
      assert.match(err.message, /connect failed/);
      assert.match(err.message, new RegExp(`root@${host.address.replaceAll('.', '\\.')}:22`));
      return true;
    });
  });

  test('knows the address its TCP connection reached', () => {
    assert.equal(conn.remoteAddress, host.address);
  });

  test('reports whether the native crypto binding is in use', () => {
    assert.equal(typeof conn.nativeCrypto, 'boolean');
    assert.equal(conn.nativeCrypto, true, 'ssh2 native binding should be built in this workspace');
  });
});

describe('server restrictions and unreachable hosts', () => {
  let host: RemoteHost;
  let home: string;
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'pl-ssh-home-'));
    host = await RemoteHost.start({
      sftp: false,
      sshdConfig: ['AllowTcpForwarding no', 'Ciphers aes128-ctr,aes256-ctr'],
    });
  });
  after(async () => {
    await host?.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('AllowTcpForwarding no gives a clear ChannelError', async () => {
    const conn = await connect(harnessTarget(host, home));
    try {
      await assert.rejects(conn.forwardOut('127.0.0.1', 22), (err: unknown) => {
        assert.ok(err instanceof ChannelError);
        assert.match(err.message, /administratively prohibited/);
        assert.match(err.message, /AllowTcpForwarding/);
        return true;
      });
    } finally {
      conn.close();
    }
  });

  test('Ciphers is honoured: a common cipher connects, none in common is a handshake ConnectError', async () => {
    const conn = await connect(harnessTarget(host, home, ['Ciphers=aes256-ctr']));
    conn.close();
    await assert.rejects(connect(harnessTarget(host, home, ['Ciphers=aes256-gcm@openssh.com'])), (err: unknown) => {
      assert.ok(err instanceof ConnectError, String(err));
      assert.match(err.message, /handshake failed.*cipher/i);
      return true;
    });
  });

  test('writeFile without an SFTP subsystem says so', async () => {
    const conn = await connect(harnessTarget(host, home));
    try {
      await assert.rejects(conn.writeFile('/tmp/x', Buffer.from('x'), 0o600), (err: unknown) => {
        assert.ok(err instanceof ChannelError);
        assert.match(err.message, /no SFTP subsystem/);
        return true;
      });
    } finally {
      conn.close();
    }
  });

  test('a refused port is a ConnectError naming the host', async () => {
    const target = harnessTarget(host, home, ['Port=2']);
    await assert.rejects(connect(target), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.equal(err.code, 'CONNECT');
      assert.match(err.message, new RegExp(`${host.address.replaceAll('.', '\\.')}:2: connection refused`));
      return true;
    });
  });

  test('a server that never speaks SSH times out after ConnectTimeout with a ConnectError', async () => {
    const silent = await host.serve('tcp-listen', 0, host.address);
    try {
      const started = Date.now();
      await assert.rejects(
        connect(harnessTarget(host, home, [`Port=${silent.port}`, 'ConnectTimeout=1'])),
        (err: unknown) => {
          assert.ok(err instanceof ConnectError);
          assert.match(err.message, /timed out after 1 s/);
          return true;
        },
      );
      const took = Date.now() - started;
      assert.ok(took >= 900 && took < 3000, `took ${took} ms`);
    } finally {
      await silent.stop();
    }
  });

  test('a server that hangs up before the handshake is a ConnectError', async () => {
    const svc = await host.serve('http', 0, host.address);
    try {
      await assert.rejects(
        connect(harnessTarget(host, home, [`Port=${svc.port}`, 'ConnectTimeout=3'])),
        (err: unknown) => {
          assert.ok(err instanceof ConnectError, String(err));
          assert.match(err.message, new RegExp(`:${svc.port}: `));
          return true;
        },
      );
    } finally {
      await svc.stop();
    }
  });

  test('the connection emits close once when the server goes away', async () => {
    const conn = await connect(harnessTarget(host, home));
    const closed = new Promise<string>((resolve) => conn.once('close', resolve));
    await host.stopSshd();
    const reason = await closed;
    assert.equal(typeof reason, 'string');
    assert.equal(conn.closed, true);
    await host.startSshd();
  });
});

describe('ssh_config aliases, overrides, ProxyCommand, keepalives and cancellation', () => {
  let host: RemoteHost;
  let home: string;
  let config: string;
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'pl-ssh-home-'));
    host = await RemoteHost.start();
    config = join(home, 'ssh_config');
    writeFileSync(
      config,
      [
        'Host lab-wrongport',
        '  Port 2',
        'Host lab-* !lab-excluded',
        `  HostName ${host.address}`,
        '  User root',
        `  IdentityFile ${host.clientKeyPath}`,
        'Host lab-proxied',
        '  ProxyCommand socat STDIO TCP:%h:%p',
        'Host *',
        `  UserKnownHostsFile ${host.knownHostsPath}`,
        '  StrictHostKeyChecking yes',
        '  ConnectTimeout 3',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await host?.close();
    rmSync(home, { recursive: true, force: true });
  });
  const env = () => ({ home, systemConfigFile: null });

  test('a wildcard alias resolves and connects', async () => {
    const conn = await connect(resolveHost(parseTarget('lab-anything'), { configFile: config }, env()), { env: {} });
    assert.equal((await conn.exec('echo alias')).stdout.toString(), 'alias\n');
    conn.close();
  });

  test('a negated alias does not get the wildcard settings', () => {
    const r = resolveHost(parseTarget('lab-excluded'), { configFile: config }, env());
    assert.equal(r.hostname, 'lab-excluded');
  });

  test('-p on the command line overrides the Port from ssh_config', async () => {
    await assert.rejects(
      connect(resolveHost(parseTarget('lab-wrongport'), { configFile: config }, env()), { env: {} }),
      ConnectError,
    );
    const conn = await connect(resolveHost(parseTarget('lab-wrongport'), { configFile: config, port: 22 }, env()), {
      env: {},
    });
    conn.close();
  });

  test('-o User overrides the config and the error names the user', async () => {
    const target = resolveHost(parseTarget('lab-x'), { configFile: config, options: ['User=nobody'] }, env());
    await assert.rejects(connect(target, { env: {} }), (err: unknown) => {
      assert.ok(err instanceof AuthError);
      assert.match(err.message, new RegExp(`^nobody@${host.address.replaceAll('.', '\\.')}:22: authentication failed`));
      return true;
    });
  });

  test('ProxyCommand carries the connection over a command', async () => {
    const conn = await connect(resolveHost(parseTarget('lab-proxied'), { configFile: config }, env()), { env: {} });
    assert.equal((await conn.exec('echo proxied')).stdout.toString(), 'proxied\n');
    conn.close();
  });

  test('an aborted signal cancels a connect that is waiting on a silent server', async () => {
    const silent = await host.serve('tcp-listen', 0, host.address);
    try {
      const ac = new AbortController();
      const target = resolveHost(parseTarget('lab-x'), { configFile: config, port: silent.port }, env());
      setTimeout(() => ac.abort(), 200);
      const started = Date.now();
      await assert.rejects(connect(target, { env: {}, signal: ac.signal }), /cancelled/);
      assert.ok(Date.now() - started < 2000);
    } finally {
      await silent.stop();
    }
  });

  test('keepalives (ServerAliveInterval) detect a server that stopped answering', async () => {
    const target = resolveHost(
      parseTarget('lab-x'),
      { configFile: config, options: ['ServerAliveInterval=1', 'ServerAliveCountMax=2'] },
      env(),
    );
    const conn = await connect(target, { env: {} });
    const closed = new Promise<string>((resolve) => conn.once('close', resolve));
    const pids = (await run(['ip', 'netns', 'pids', host.ns])).stdout.split(/\s+/).filter((p) => p !== '');
    // a process may exit between the listing and the signal (ESRCH); the others must be continued whatever happens,
    // or the next test finds sshd frozen
    const signalAll = (sig: NodeJS.Signals) => {
      for (const pid of pids) {
        try {
          process.kill(Number(pid), sig);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
        }
      }
    };
    const started = Date.now();
    try {
      signalAll('SIGSTOP');
      const reason = await closed;
      const took = Date.now() - started;
      assert.match(reason, /keepalive/i);
      assert.ok(took < 6000, `closed after ${took} ms`);
    } finally {
      signalAll('SIGCONT');
    }
  });

  test('new direct-tcpip channel + 1-byte round trip stays well under Nagle/delayed-ACK time (setNoDelay)', async () => {
    const svc = await host.serve('tcp-echo', 0, '127.0.0.1');
    const conn = await connect(resolveHost(parseTarget('lab-x'), { configFile: config }, env()), { env: {} });
    try {
      const times: number[] = [];
      for (let i = 0; i < 30; i++) {
        const t0 = process.hrtime.bigint();
        const ch = await conn.forwardOut('127.0.0.1', svc.port);
        await new Promise<void>((resolve) => {
          ch.once('data', () => resolve());
          ch.write('x');
        });
        ch.end();
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      times.sort((a, b) => a - b);
      const p50 = times[15] ?? 0;
      console.log(`# open+round trip p50 ${p50.toFixed(2)} ms, max ${(times[29] ?? 0).toFixed(2)} ms`);
      assert.ok(p50 < 20, `p50 ${p50} ms: Nagle's algorithm would cost ~40 ms`);
    } finally {
      conn.close();
      await svc.stop();
    }
  });
});
