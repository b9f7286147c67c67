import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RemoteHost, run, waitFor } from './harness/index.ts';
import { CliProcess } from './support/cli-process.ts';
import { canConnect, httpGet, tcpRoundTrip } from './support/tcp-client.ts';

const DOCUMENTED: Record<string, string[]> = {
  connected: ['host', 'user', 'port'],
  agent: ['mode', 'transport', 'platform'],
  forward_added: ['protocol', 'remote_addr', 'remote_port', 'local_port'],
  forward_removed: ['protocol', 'remote_port', 'local_port', 'reason'],
  conflict: ['protocol', 'remote_port', 'wanted_local_port', 'action'],
  disconnected: ['reason'],
  reconnected: ['attempt'],
  error: ['message'],
};

describe('port-linker user@host mirrors remote TCP ports (real sshd)', () => {
  let host: RemoteHost;
  before(async () => {
    host = await RemoteHost.start();
  });
  after(async () => {
    await host?.close();
  });

  test('existing ports on 0.0.0.0, 127.0.0.1 and :: are mirrored; new ones appear, stopped ones go; 1 MiB both ways', async () => {
    const wild = await host.serve('http', 0, '0.0.0.0');
    const loop = await host.serve('tcp-echo', 0, '127.0.0.1');
    const v6 = await host.serve('tcp-echo', 0, '::');
    const cli = CliProcess.against(host);
    try {
      const connected = await cli.waitEvent((e) => e.event === 'connected', 'connected');
      assert.equal(connected.host, host.target, 'host: the target as written');
      assert.equal(connected.hostname, host.address);
      assert.equal(connected.v, 1);
      const agent = await cli.waitEvent((e) => e.event === 'agent', 'agent');
      assert.equal(agent.transport, 'stdio');
      for (const svc of [wild, loop, v6]) {
        const e = await cli.forwardFor(svc.port);
        assert.equal(e.local_port, svc.port, 'same local port when free');
      }
      assert.match(await httpGet(wild.port, '/x'), /hello from 0\.0\.0\.0:\d+ \/x/);
      const data = randomBytes(1024 * 1024);
      assert.ok((await tcpRoundTrip(loop.port, data)).equals(data), '1 MiB through a 127.0.0.1 listener, half-closed');
      assert.ok((await tcpRoundTrip(v6.port, data)).equals(data), 'through a :: listener');
      assert.ok((await tcpRoundTrip(v6.port, data, '::1')).equals(data), 'and on ::1 locally');

      const late = await host.serve('tcp-echo', 0, '0.0.0.0');
      await cli.forwardFor(late.port);
      assert.ok((await tcpRoundTrip(late.port, Buffer.from('late'))).equals(Buffer.from('late')));
      await late.stop();
      const removed = await cli.waitEvent(
        (e) => e.event === 'forward_removed' && e.remote_port === late.port,
        'forward_removed',
      );
      assert.equal(removed.reason, 'remote_closed');
      assert.equal(await canConnect(late.port), false, 'the local listener is gone');

      for (const e of cli.events) {
        assert.equal(typeof e.ts, 'string');
        for (const field of DOCUMENTED[e.event] ?? []) assert.ok(field in e, `${e.event} lacks ${field}`);
      }
      assert.equal(await cli.stop('SIGINT'), 0, 'Ctrl-C exits 0');
      assert.equal(await canConnect(wild.port), false, 'no listener left after exit');
    } finally {
      await cli.stop('SIGKILL');
      await Promise.all([wild.stop(), loop.stop(), v6.stop()]);
    }
  });

  test('--ports and --exclude filter; default excludes keep 22 out', async () => {
    const a = await host.serve('tcp-listen', 0, '0.0.0.0');
    const b = await host.serve('tcp-listen', 0, '0.0.0.0');
    const c = await host.serve('tcp-listen', 0, '0.0.0.0');
    const cli = CliProcess.against(host, ['-p', `${a.port},${b.port}`, '-x', String(b.port)]);
    try {
      await cli.forwardFor(a.port);
      const agent = await cli.waitEvent((e) => e.event === 'agent', 'agent');
      assert.ok(agent);
      await new Promise((r) => setTimeout(r, 600));
      const ports = cli.events.filter((e) => e.event === 'forward_added').map((e) => e.remote_port);
      assert.deepEqual(ports, [a.port]);
      assert.ok(!ports.includes(22) && !ports.includes(c.port));
    } finally {
      await cli.stop();
      await Promise.all([a.stop(), b.stop(), c.stop()]);
    }
  });

  test('conflict: remap picks a free local port; skip reports and forwards nothing', async () => {
    const svc = await host.serve('tcp-echo', 0, '0.0.0.0');
    const squatter = createServer().listen(svc.port, '127.0.0.1');
    await once(squatter, 'listening');
    const remap = CliProcess.against(host);
    try {
      const c = await remap.waitEvent((e) => e.event === 'conflict' && e.remote_port === svc.port, 'conflict');
      assert.equal(c.action, 'remap');
      assert.equal(c.wanted_local_port, svc.port);
      const added = await remap.forwardFor(svc.port);
      assert.equal(added.local_port, c.local_port);
      assert.notEqual(added.local_port, svc.port);
      assert.ok((await tcpRoundTrip(Number(added.local_port), Buffer.from('x'))).equals(Buffer.from('x')));
    } finally {
      await remap.stop();
    }
    const skip = CliProcess.against(host, ['--conflict', 'skip']);
    try {
      const c = await skip.waitEvent((e) => e.event === 'conflict' && e.remote_port === svc.port, 'conflict');
      assert.equal(c.action, 'skip');
      assert.ok(!skip.events.some((e) => e.event === 'forward_added' && e.remote_port === svc.port));
    } finally {
      await skip.stop();
      squatter.close();
      await svc.stop();
    }
  });

  test('-L works alongside mirroring and alone with --no-auto', async () => {
    const svc = await host.serve('tcp-echo', 0, '127.0.0.1');
    const other = await host.serve('tcp-listen', 0, '0.0.0.0');
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const lport = (probe.address() as { port: number }).port;
    probe.close();
    const only = CliProcess.against(host, ['--no-auto', '-L', `${lport}:127.0.0.1:${svc.port}`]);
    try {
      const e = await only.waitEvent((x) => x.event === 'forward_added', 'explicit forward');
      assert.equal(e.local_port, lport);
      assert.ok((await tcpRoundTrip(lport, Buffer.from('via -L'))).equals(Buffer.from('via -L')));
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(!only.events.some((x) => x.event === 'agent'), '--no-auto deploys no agent');
      assert.equal(only.events.filter((x) => x.event === 'forward_added').length, 1);
    } finally {
      await only.stop();
    }
    const both = CliProcess.against(host, ['-L', `${lport}:127.0.0.1:${svc.port}`]);
    try {
      await both.forwardFor(other.port);
      assert.ok((await tcpRoundTrip(lport, Buffer.from('both'))).equals(Buffer.from('both')));
    } finally {
      await both.stop();
      await Promise.all([svc.stop(), other.stop()]);
    }
  });

  test('bad arguments exit 2 with one line; a refused host key exits 3; an unreachable host exits 4', async () => {
    const bad = await run([process.execPath, 'packages/cli/bin/port-linker.js', 'host', '--ports', 'abc'], {
      allowFail: true,
    });
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /--ports: "abc"/);

    const emptyKnownHosts = new CliProcess([
      '--json',
      '-i',
      host.clientKeyPath,
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'StrictHostKeyChecking=yes',
      `${host.user}@${host.address}`,
    ]);
    assert.equal(await emptyKnownHosts.exited, 3, emptyKnownHosts.stderr);
    assert.match(emptyKnownHosts.stderr, new RegExp(host.address.replaceAll('.', '\\.')));

    const nowhere = new CliProcess([
      '--json',
      '-o',
      'ConnectTimeout=2',
      '-o',
      'StrictHostKeyChecking=no',
      'root@127.0.0.1:1',
    ]);
    assert.equal(await nowhere.exited, 4, nowhere.stderr);
  });

  test("--version and --help answer without loading ssh2's client (it loads while the TCP connection is made)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-modules-'));
    try {
      // prints, at exit, the CommonJS files of ssh2 this process loaded
      const hook = join(dir, 'loaded.cjs');
      writeFileSync(
        hook,
        [
          "process.on('exit', () => {",
          "  const files = Object.keys(require.cache).filter((f) => f.includes('/ssh2/lib/'));",
          "  process.stderr.write('\\nloaded: ' + JSON.stringify(files) + '\\n');",
          '});',
        ].join('\n'),
      );
      for (const flag of ['--version', '--help']) {
        const r = await run([process.execPath, '--require', hook, 'packages/cli/bin/port-linker.js', flag]);
        const loaded = JSON.parse(/loaded: (.*)/.exec(r.stderr)?.[1] ?? 'null') as string[];
        assert.ok(Array.isArray(loaded), r.stderr);
        // --help parses the options, whose cipher list comes from ssh2 (so the hook sees ssh2 files: it works);
        // --version alone loads no command at all
        if (flag === '--help')
          assert.ok(
            loaded.some((f) => f.endsWith('constants.js')),
            'the hook sees ssh2 files (its cipher list is loaded)',
          );
        else assert.deepEqual(loaded, [], '--version loads nothing of ssh2');
        assert.deepEqual(
          loaded.filter((f) => /client\.js$|keyParser\.js$/.test(f)),
          [],
          `${flag} loaded ssh2's client`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('port-linker heals through outages (real sshd)', () => {
  let host: RemoteHost;
  before(async () => {
    host = await RemoteHost.start();
  });
  after(async () => {
    await host?.close();
  });

  test('link down 10 s then up: forwards work again without restarting', async () => {
    const svc = await host.serve('tcp-echo', 0, '0.0.0.0');
    const cli = CliProcess.against(host);
    try {
      await cli.forwardFor(svc.port);
      await host.linkDown();
      await new Promise((r) => setTimeout(r, 10_000));
      assert.equal(await canConnect(svc.port), true, 'the local listener stays bound during the outage');
      await host.linkUp();
      await waitFor(
        async () => {
          try {
            return (await tcpRoundTrip(svc.port, Buffer.from('back'), '127.0.0.1', 3000)).toString() === 'back';
          } catch {
            return false;
          }
        },
        'the forward to work again',
        60_000,
        500,
      );
      assert.equal(cli.child.exitCode, null, 'still running');
    } finally {
      await cli.stop();
      await svc.stop();
    }
  });

  test('sshd killed and restarted: reconnects and re-syncs', async () => {
    const svc = await host.serve('tcp-echo', 0, '0.0.0.0');
    const cli = CliProcess.against(host);
    try {
      await cli.forwardFor(svc.port);
      await host.stopSshd();
      await cli.waitEvent((e) => e.event === 'disconnected', 'disconnected', 30_000);
      const gone = await host.serve('tcp-listen', 0, '0.0.0.0');
      await host.startSshd();
      await cli.waitEvent((e) => e.event === 'reconnected', 'reconnected', 30_000);
      await cli.forwardFor(gone.port);
      assert.ok((await tcpRoundTrip(svc.port, Buffer.from('again'))).equals(Buffer.from('again')));
      await gone.stop();
    } finally {
      await cli.stop();
      await svc.stop();
    }
  });
});

describe('port-linker keeps its agent alive and resolves local conflicts (real sshd)', () => {
  let host: RemoteHost;
  before(async () => {
    host = await RemoteHost.start();
  });
  after(async () => {
    await host?.close();
  });

  test('the agent killed on the remote is restarted and mirroring goes on', async () => {
    const cli = CliProcess.against(host);
    try {
      const first = await cli.waitEvent((e) => e.event === 'agent', 'agent');
      assert.equal(typeof first.pid, 'number');
      await host.exec(['kill', '-9', String(first.pid)]);
      const second = await cli.waitEvent(
        (e) => e.event === 'agent' && e.pid !== first.pid,
        'a restarted agent',
        20_000,
      );
      assert.equal(second.bytes_uploaded, 0, 'the cached agent is reused');
      const svc = await host.serve('tcp-echo', 0, '0.0.0.0');
      await cli.forwardFor(svc.port);
      assert.ok((await tcpRoundTrip(svc.port, Buffer.from('ok'))).equals(Buffer.from('ok')));
      await svc.stop();
    } finally {
      await cli.stop();
    }
  });

  test('--conflict kill stops the local owner of the port (no TTY: no question) and takes the port', async () => {
    const svc = await host.serve('tcp-echo', 0, '0.0.0.0');
    const squatter = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${svc.port}, '127.0.0.1', () => console.log('up'))`,
    ]);
    const squatterExit = once(squatter, 'exit');
    await once(squatter.stdout, 'data');
    const cli = CliProcess.against(host, ['--conflict', 'kill']);
    try {
      const c = await cli.waitEvent((e) => e.event === 'conflict' && e.remote_port === svc.port, 'conflict');
      assert.equal(c.action, 'kill');
      assert.equal(c.local_port, svc.port);
      await squatterExit;
      assert.ok((await tcpRoundTrip(svc.port, Buffer.from('mine'))).equals(Buffer.from('mine')));
    } finally {
      squatter.kill('SIGKILL');
      await cli.stop();
      await svc.stop();
    }
  });
});
