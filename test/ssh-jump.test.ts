import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConnectError, connect, HostKeyError, resolveHost } from '@port-linker/ssh';
import { RemoteHost } from './harness/index.ts';

describe('jump hosts: a chain where only the previous hop can reach the next', () => {
  let a: RemoteHost;
  let b: RemoteHost;
  let c: RemoteHost;
  let dir: string;
  let config: string;
  let knownHosts: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pl-ssh-jump-'));
    a = await RemoteHost.start();
    b = await RemoteHost.start({ behind: a });
    c = await RemoteHost.start({ behind: b });
    knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, [a, b, c].map((h) => `${h.address} ${h.hostPublicKey}\n`).join(''));
    config = join(dir, 'ssh_config');
    writeFileSync(
      config,
      [
        'Host jump-a',
        `  HostName ${a.address}`,
        `  IdentityFile ${a.clientKeyPath}`,
        'Host jump-b',
        `  HostName ${b.address}`,
        `  IdentityFile ${b.clientKeyPath}`,
        'Host target-c',
        `  HostName ${c.address}`,
        '  ProxyJump jump-a,jump-b',
        'Host target-c-one-hop',
        `  HostName ${c.address}`,
        '  ProxyJump jump-a',
        `Host target-c-* ${c.address}`,
        `  IdentityFile ${c.clientKeyPath}`,
        'Host *',
        '  User root',
        `  IdentityFile ${c.clientKeyPath}`,
        `  UserKnownHostsFile ${knownHosts}`,
        '  StrictHostKeyChecking yes',
        '  ConnectTimeout 3',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await c?.close();
    await b?.close();
    await a?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = { home: '/nonexistent-home', systemConfigFile: null };

  test('the target is not reachable directly', async () => {
    const direct = resolveHost({ host: c.address }, { configFile: config, options: ['ConnectTimeout=1'] }, env);
    await assert.rejects(connect(direct, { env: {} }), ConnectError);
  });

  test('ProxyJump a,b from ssh_config reaches the target through both hops', async () => {
    const target = resolveHost({ host: 'target-c' }, { configFile: config }, env);
    assert.deepEqual(
      target.proxyJump.map((h) => h.hostname),
      [a.address, b.address],
    );
    const conn = await connect(target, { env: {} });
    const r = await conn.exec('ip -4 -o addr show');
    assert.ok(r.stdout.toString().includes(c.address), 'ran on the target');
    assert.equal(conn.remoteAddress, undefined, 'no TCP socket of its own through a jump chain');
    const closed = new Promise<string>((resolve) => conn.once('close', resolve));
    conn.close();
    await closed;
  });

  test('-J a,b on the command line overrides and works for a bare address', async () => {
    const target = resolveHost({ host: c.address }, { configFile: config, jump: 'jump-a,jump-b' }, env);
    const conn = await connect(target, { env: {} });
    assert.equal((await conn.exec('echo via-J')).stdout.toString(), 'via-J\n');
    conn.close();
  });

  test('forwardOut on the far side works through the chain', async () => {
    const svc = await c.serve('tcp-echo', 0, '127.0.0.1');
    const conn = await connect(resolveHost({ host: 'target-c' }, { configFile: config }, env), { env: {} });
    try {
      const ch = await conn.forwardOut('127.0.0.1', svc.port);
      const got = await new Promise<string>((resolve) => {
        ch.once('data', (d: Buffer) => resolve(d.toString()));
        ch.write('through');
      });
      assert.equal(got, 'through');
      ch.destroy();
    } finally {
      conn.close();
      await svc.stop();
    }
  });

  test('a hop that cannot reach the next gives a ConnectError naming both hosts', async () => {
    const target = resolveHost({ host: 'target-c-one-hop' }, { configFile: config }, env);
    await assert.rejects(connect(target, { env: {} }), (err: unknown) => {
      assert.ok(err instanceof ConnectError, String(err));
      assert.ok(err.message.includes(c.address) && err.message.includes(a.address), err.message);
      assert.match(err.message, /could not reach it/);
      return true;
    });
  });

  test('each hop is verified: an unknown key on the middle hop is refused', async () => {
    const strictKnown = join(dir, 'known_hosts_without_b');
    writeFileSync(strictKnown, [a, c].map((h) => `${h.address} ${h.hostPublicKey}\n`).join(''));
    const cfg = join(dir, 'ssh_config_without_b');
    const { readFileSync } = await import('node:fs');
    writeFileSync(cfg, readFileSync(config, 'utf8').replace(knownHosts, strictKnown));
    await assert.rejects(
      connect(resolveHost({ host: 'target-c' }, { configFile: cfg }, env), { env: {} }),
      (err: unknown) => {
        assert.ok(err instanceof HostKeyError, String(err));
        assert.ok(err.message.includes(b.address), err.message);
        return true;
      },
    );
  });

  test('losing the first hop closes the connection to the target', async () => {
    const conn = await connect(resolveHost({ host: 'target-c' }, { configFile: config }, env), { env: {} });
    const closed = new Promise<string>((resolve) => conn.once('close', resolve));
    await a.stopSshd();
    try {
      const reason = await closed;
      assert.equal(typeof reason, 'string');
    } finally {
      await a.startSshd();
    }
  });
});
