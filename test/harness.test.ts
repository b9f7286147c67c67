import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Client } from 'ssh2';
import { RemoteHost, run } from './harness/index.ts';

function connect(host: RemoteHost): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.on('ready', () => resolve(c)).on('error', reject);
    c.connect({ host: host.address, port: host.port, username: host.user, privateKey: host.clientKey });
  });
}

describe('test harness: a real sshd in a namespace', () => {
  let host: RemoteHost;
  before(async () => {
    host = await RemoteHost.start();
  });
  after(async () => {
    await host?.close();
  });

  test('ssh2 logs in with the generated key and runs a command', async () => {
    const c = await connect(host);
    try {
      const out = await new Promise<string>((resolve, reject) => {
        c.exec('echo ok', (err, ch) => {
          if (err) return reject(err);
          let s = '';
          ch.on('data', (d: Buffer) => {
            s += d;
          }).on('close', () => resolve(s));
        });
      });
      assert.equal(out, 'ok\n');
    } finally {
      c.end();
    }
  });

  test('a direct-tcpip channel reaches a loopback-only service inside the namespace', async () => {
    const svc = await host.serve('tcp-echo', 0, '127.0.0.1');
    const c = await connect(host);
    try {
      const echoed = await new Promise<string>((resolve, reject) => {
        c.forwardOut('127.0.0.1', 0, '127.0.0.1', svc.port, (err, ch) => {
          if (err) return reject(err);
          let s = '';
          ch.on('data', (d: Buffer) => {
            s += d;
            if (s.length >= 5) {
              resolve(s);
              ch.close();
            }
          });
          ch.write('hello');
        });
      });
      assert.equal(echoed, 'hello');
    } finally {
      c.end();
      await svc.stop();
    }
  });

  test('OpenSSH client verifies the host key from the generated known_hosts', async () => {
    const r = await run(['ssh', ...host.sshArgs(), 'echo', 'verified']);
    assert.equal(r.stdout.trim(), 'verified');
  });

  test('the service is not visible from the root namespace (isolation)', async () => {
    const svc = await host.serve('tcp-listen', 0, '127.0.0.1');
    const local = await run(['ss', '-Hltn', `sport = :${svc.port}`]);
    const remote = await host.exec(['ss', '-Hltn', `sport = :${svc.port}`]);
    assert.equal(local.stdout.trim(), '');
    assert.notEqual(remote.stdout.trim(), '');
    await svc.stop();
  });

  test('quietShell: sessions see an empty ~root/.bashrc; the machine keeps its own', {
    skip: !existsSync('/root/.bashrc') && 'no /root/.bashrc on this machine',
  }, async () => {
    const before = readFileSync('/root/.bashrc');
    const quiet = await RemoteHost.start({ quietShell: true });
    try {
      const r = await run(['ssh', ...quiet.sshArgs(), 'wc -c < /root/.bashrc']);
      assert.equal(r.stdout.trim(), '0');
      assert.ok(readFileSync('/root/.bashrc').equals(before), 'the machine still sees its own file');
      const mounts = await run(['grep', '-c', 'bashrc', '/proc/self/mountinfo'], { allowFail: true });
      assert.equal(mounts.stdout.trim(), '0', "the bind mount stays inside sshd's mount namespace");
    } finally {
      await quiet.close();
    }
  });

  test('close() removes the namespace and kills sshd', async () => {
    const other = await RemoteHost.start();
    await other.close();
    const list = await run(['ip', 'netns', 'list']);
    assert.ok(!list.stdout.includes(other.ns), `namespace ${other.ns} still exists`);
  });
});
