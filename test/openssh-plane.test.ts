import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type MasterTarget, MuxRefused, OpenSshMaster } from '@port-linker/openssh-plane';
import { RemoteHost, waitFor } from './harness/index.ts';
import { CliProcess } from './support/cli-process.ts';
import { listenerOwner, listenersOf } from './support/listener-owner.ts';
import { canConnect, echoHash } from './support/tcp-client.ts';

/** A port free right now on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('OpenSSH ControlMaster data plane against a real sshd', () => {
  let host: RemoteHost;
  let target: MasterTarget;
  before(async () => {
    host = await RemoteHost.start();
    target = {
      hostname: host.address,
      port: 22,
      user: host.user,
      identityFiles: [host.clientKeyPath],
      identitiesOnly: true,
      userKnownHostsFiles: [host.knownHostsPath],
      globalKnownHostsFiles: ['/dev/null'],
      strictHostKeyChecking: 'yes',
      identityAgent: 'none',
      serverAliveInterval: 15,
      serverAliveCountMax: 3,
      connectTimeout: 10,
    };
  });
  after(async () => {
    await host?.close();
  });

  test('a forward opened over the mux socket carries bytes exactly; closed, its port refuses; stop ends the master', async () => {
    const echo = await host.serve('tcp-echo', 0, '127.0.0.1');
    const master = await OpenSshMaster.start(target);
    try {
      const port = await freePort();
      const fwd = { listenHost: '127.0.0.1', listenPort: port, connectHost: '127.0.0.1', connectPort: echo.port };
      await master.openForward(fwd);
      const data = randomBytes(2 * 1024 * 1024);
      assert.equal(await echoHash(port, data), createHash('sha256').update(data).digest('hex'));
      // a port another process holds: the master says so, nothing else changes
      const taken = createServer();
      await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
      const takenPort = (taken.address() as { port: number }).port;
      await assert.rejects(master.openForward({ ...fwd, listenPort: takenPort }), (err: Error) => {
        assert.ok(err instanceof MuxRefused, String(err));
        return true;
      });
      taken.close();
      assert.equal(await echoHash(port, data), createHash('sha256').update(data).digest('hex'));
      await master.closeForward(fwd);
      assert.equal(await canConnect(port), false, 'the port still listens after closeForward');
      // the master's argv carries key paths only
      const argv = readFileSync(`/proc/${master.pid}/cmdline`, 'utf8');
      assert.ok(argv.includes(host.clientKeyPath) && !argv.includes('PRIVATE KEY'));
    } finally {
      await master.stop();
      await echo.stop();
    }
    assert.equal(master.exited, true);
  });

  test('a key the server refuses: start rejects with ssh’s one-line reason, no master left', async () => {
    const bad = { ...target, identityFiles: ['/nonexistent/id_ed25519'] };
    await assert.rejects(OpenSshMaster.start(bad), /ssh ControlMaster: .*(Permission denied|publickey)/);
  });

  test('a host key that does not match known_hosts: refused before any forward', async () => {
    const other = { ...target, userKnownHostsFiles: ['/dev/null'] };
    await assert.rejects(
      OpenSshMaster.start(other),
      /ssh ControlMaster: .*(Host key verification failed|No .* host key)/,
    );
  });

  test('300 forwards opened and closed at once: every one is opened, then every listener is gone', async () => {
    const echo = await host.serve('tcp-echo', 0, '127.0.0.1');
    const master = await OpenSshMaster.start(target);
    try {
      const ports = await Promise.all(Array.from({ length: 300 }, () => freePort()));
      const fwds = [...new Set(ports)].map((port) => ({
        listenHost: '127.0.0.1',
        listenPort: port,
        connectHost: '127.0.0.1',
        connectPort: echo.port,
      }));
      await Promise.all(fwds.map((f) => master.openForward(f)));
      const held = async () => (await listenersOf(master.pid)).length;
      assert.equal(await held(), fwds.length);
      await Promise.all(fwds.map((f) => master.closeForward(f)));
      assert.equal(await held(), 0, 'listeners left in the master');
    } finally {
      await master.stop();
      await echo.stop();
    }
  });

  test('a start that cannot reach the server is given up at once when aborted (a host stopping during an outage)', async () => {
    await host.linkDown();
    try {
      const abort = new AbortController();
      const t0 = performance.now();
      const starting = OpenSshMaster.start(target, { signal: abort.signal });
      setTimeout(() => abort.abort(), 500);
      await assert.rejects(starting, /ssh ControlMaster: start given up \(stopping\)/);
      const ms = performance.now() - t0;
      assert.ok(ms < 5000, `gave up after ${Math.round(ms)} ms (connectTimeout is ${target.connectTimeout} s)`);
    } finally {
      await host.linkUp();
    }
  });

  test('the master killed: an exit event, and its forwards are gone', async () => {
    const echo = await host.serve('tcp-echo', 0, '127.0.0.1');
    const master = await OpenSshMaster.start(target);
    try {
      const port = await freePort();
      await master.openForward({
        listenHost: '127.0.0.1',
        listenPort: port,
        connectHost: '127.0.0.1',
        connectPort: echo.port,
      });
      const exited = new Promise<string>((r) => master.once('exit', r));
      process.kill(master.pid, 'SIGKILL');
      assert.match(await exited, /SIGKILL|exited/);
      assert.equal(await canConnect(port), false);
    } finally {
      await master.stop();
      await echo.stop();
    }
  });
});

describe('port-linker --data-path openssh against a real sshd', () => {
  let host: RemoteHost;
  before(async () => {
    host = await RemoteHost.start();
  });
  after(async () => {
    await host?.close();
  });

  test('mirrored ports are held by the ControlMaster (ssh listens, not node); it killed, port-linker takes them back on the same port, then hands them over again', async () => {
    const echo = await host.serve('tcp-echo', 0, '127.0.0.1');
    const cli = CliProcess.against(host, ['--data-path', 'openssh']);
    try {
      const path = await cli.waitEvent((e) => e.event === 'data_path', 'a data_path event', 30_000);
      assert.equal(path.kind, 'openssh', String(path.reason));
      const fwd = await cli.forwardFor(echo.port);
      const port = fwd.local_port as number;
      const data = randomBytes(1024 * 1024);
      const want = createHash('sha256').update(data).digest('hex');
      assert.equal(await echoHash(port, data), want);
      await waitFor(
        async () => (await listenerOwner(port, cli.child.pid)) === 'ssh',
        'ssh to hold the listener',
        10_000,
      );
      const pid = Number(/pid (\d+)/.exec(String(path.reason))?.[1]);
      assert.ok(pid > 1, String(path.reason));
      const since = cli.events.length;
      process.kill(pid, 'SIGKILL');
      const back = await cli.waitEvent(
        (e) => cli.events.indexOf(e) >= since && e.event === 'data_path' && e.kind === 'ssh',
        'the fallback data_path event',
      );
      assert.match(String(back.reason), /ControlMaster exited/);
      await waitFor(
        async () => (await listenerOwner(port, cli.child.pid)) === 'port-linker',
        'port-linker to listen again',
        10_000,
      ).catch(async (err) => {
        throw new Error(
          `${err.message}; owner now: ${await listenerOwner(port, cli.child.pid)}; events: ${JSON.stringify(cli.events.slice(since))}; stderr: ${cli.stderr.slice(-1500)}`,
        );
      });
      assert.equal(await echoHash(port, data), want);
      await cli.waitEvent(
        (e) => cli.events.indexOf(e) > since && e.event === 'data_path' && e.kind === 'openssh',
        'a new ControlMaster',
        15_000,
      );
      await waitFor(
        async () => (await listenerOwner(port, cli.child.pid)) === 'ssh',
        'the new master to hold the listener',
        10_000,
      );
      assert.equal(await echoHash(port, data), want);
      assert.equal(
        cli.events.filter((e) => e.event === 'forward_added' && e.remote_port === echo.port).length,
        1,
        'the forward was announced again',
      );
    } finally {
      assert.equal(await cli.stop(), 0);
      await echo.stop();
    }
  });

  test('no ssh client on PATH: the host stays on SSH channels and says why', async () => {
    const echo = await host.serve('tcp-echo', 0, '127.0.0.1');
    const cli = CliProcess.against(host, ['--data-path', 'openssh'], { PATH: '/nonexistent' });
    try {
      const path = await cli.waitEvent((e) => e.event === 'data_path', 'a data_path event', 30_000);
      assert.equal(path.kind, 'ssh');
      assert.match(String(path.reason), /no ssh client on PATH \(install openssh-client\)/);
      const fwd = await cli.forwardFor(echo.port);
      const data = randomBytes(64 * 1024);
      assert.equal(await echoHash(fwd.local_port as number, data), createHash('sha256').update(data).digest('hex'));
    } finally {
      assert.equal(await cli.stop(), 0);
      await echo.stop();
    }
  });
});
