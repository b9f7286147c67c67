import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AgentLink, deployAgent, startAgent } from '@port-linker/deploy';
import type { ListeningSocket, Message } from '@port-linker/proto';
import { RemoteHost, run, waitFor } from './harness/index.ts';
import { builtExecutable, ensureAgentBundle } from './support/agent-bundle.ts';
import { Ssh2Session } from './support/ssh2-session.ts';

/** Current remote socket set from a link's ScanDelta stream. */
function trackPorts(link: AgentLink): { ports: Map<string, ListeningSocket>; deltas: number } {
  const state = { ports: new Map<string, ListeningSocket>(), deltas: 0 };
  link.on('message', (m: Message) => {
    if (m.type !== 'ScanDelta') return;
    state.deltas++;
    if (m.full) state.ports.clear();
    for (const s of m.removed) state.ports.delete(`${s.protocol}/${s.address}/${s.port}`);
    for (const s of m.added) state.ports.set(`${s.protocol}/${s.address}/${s.port}`, s);
  });
  return state;
}

const hasTcp = (ports: Map<string, ListeningSocket>, port: number) =>
  [...ports.values()].some((s) => s.protocol === 'tcp' && s.port === port);

/** Starts a harness host (with or without the SFTP subsystem) whose sessions use a private cache dir. */
async function hostWith(options: { sftp: boolean }): Promise<{ host: RemoteHost; xdg: string }> {
  const xdg = mkdtempSync(join(tmpdir(), 'pl-deploy-cache-'));
  const host = await RemoteHost.start({ sftp: options.sftp, sshdConfig: [`SetEnv XDG_CACHE_HOME=${xdg}`] });
  return { host, xdg };
}

async function watchFinds(link: AgentLink, host: RemoteHost, timeoutMs: number): Promise<void> {
  const state = trackPorts(link);
  link.send({ type: 'WatchRequest', tcp: true, udp: true, intervalMs: 100 });
  await waitFor(() => state.deltas > 0, 'the full delta', timeoutMs);
  const svc = await host.serve('tcp-listen', 0, '0.0.0.0');
  await waitFor(() => hasTcp(state.ports, svc.port), `port ${svc.port} added`, timeoutMs);
  await svc.stop();
  await waitFor(() => !hasTcp(state.ports, svc.port), `port ${svc.port} removed`, timeoutMs);
}

describe('deploy modes on a server without SFTP (uploads go over exec)', () => {
  let host: RemoteHost;
  let xdg: string;
  let session: Ssh2Session;
  const logs: string[] = [];
  const log = (level: string, msg: string) => logs.push(`${level} ${msg}`);

  before(async () => {
    ensureAgentBundle();
    ({ host, xdg } = await hostWith({ sftp: false }));
    session = await Ssh2Session.connect(host);
  });
  after(async () => {
    session?.close();
    await host?.close();
    rmSync(xdg, { recursive: true, force: true });
  });

  test('auto picks node and falls back from SFTP to an exec upload', async () => {
    const r = await deployAgent(session, { mode: 'auto', log });
    assert.equal(r.mode, 'node');
    assert.equal(r.via, 'exec');
    assert.ok(r.bytesUploaded > 0);
    const link = await startAgent(session, r, { log });
    try {
      await watchFinds(link, host, 3000);
    } finally {
      await link.close();
    }
  });

  test('binary mode uploads, verifies and runs the linux-x64 executable; the next deploy uploads nothing', async (t) => {
    if (!builtExecutable('linux-x64')) {
      t.skip('linux-x64 executable not built: run `npm run build:agents -- --platforms linux-x64`');
      return;
    }
    const r = await deployAgent(session, { mode: 'binary', log });
    assert.equal(r.mode, 'binary', r.reason);
    assert.equal(r.platform, 'linux-x64');
    assert.ok(r.bytesUploaded > 20_000_000, `uploaded ${r.bytesUploaded} bytes`);
    assert.doesNotMatch(r.command ?? '', /node'? /, 'runs the executable, not node');
    const link = await startAgent(session, r, { log });
    try {
      assert.equal(link.info?.platform, 'linux');
      assert.equal(link.info?.scanner, 'procfs');
      await watchFinds(link, host, 3000);
    } finally {
      await link.close();
    }
    const again = await deployAgent(session, { mode: 'binary', log });
    assert.equal(again.mode, 'binary');
    assert.equal(again.bytesUploaded, 0);
    assert.equal(again.cached, true);
  });

  test('none mode scans agentless over exec and still finds ports, with the reason stated', async () => {
    const r = await deployAgent(session, { mode: 'none', log });
    assert.equal(r.mode, 'none');
    assert.equal(r.bytesUploaded, 0);
    assert.match(r.reason ?? '', /--agent none/);
    const link = await startAgent(session, r, { log, agentlessIntervalMs: 200 });
    try {
      assert.equal(link.info?.scanner, 'exec');
      const pong = new Promise<Message>((resolve) => link.once('message', resolve));
      link.send({ type: 'Ping', value: 9n });
      assert.deepEqual(await pong, { type: 'Pong', value: 9n });
      const response = new Promise<Message>((resolve) =>
        link.on('message', (m: Message) => m.type === 'ScanResponse' && resolve(m)),
      );
      link.send({ type: 'ScanRequest', tcp: true, udp: false });
      const scan = await response;
      assert.ok(scan.type === 'ScanResponse' && scan.sockets.some((s) => s.port === 22));
      await watchFinds(link, host, 5000);
    } finally {
      await link.close();
    }
    assert.ok(logs.some((l) => l.includes('agentless')));
  });
});

describe('deploy fallbacks', () => {
  test('noexec cache: binary cannot run, falls back to none with the reason; node mode still works', async (t) => {
    if (!builtExecutable('linux-x64')) {
      t.skip('linux-x64 executable not built: run `npm run build:agents -- --platforms linux-x64`');
      return;
    }
    const xdg = mkdtempSync(join(tmpdir(), 'pl-noexec-'));
    const mounted = await run(['mount', '-t', 'tmpfs', '-o', 'noexec,size=64m', 'tmpfs', xdg], { allowFail: true });
    if (mounted.code !== 0) {
      rmSync(xdg, { recursive: true, force: true });
      t.skip(`cannot mount a noexec tmpfs here: ${mounted.stderr.trim()}`);
      return;
    }
    const host = await RemoteHost.start({ sshdConfig: [`SetEnv XDG_CACHE_HOME=${xdg}`] });
    const session = await Ssh2Session.connect(host);
    try {
      const sent = session.bytesSent;
      const r = await deployAgent(session, { mode: 'binary' });
      assert.equal(r.mode, 'none');
      assert.match(r.reason ?? '', /noexec/);
      assert.ok(session.bytesSent - sent < 10_000, 'the executable was not uploaded in vain');
      const n = await deployAgent(session, { mode: 'auto' });
      assert.equal(n.mode, 'node', n.reason);
      const link = await startAgent(session, n);
      assert.equal(link.info?.scanner, 'procfs');
      await link.close();
    } finally {
      session.close();
      await host.close();
      await run(['umount', xdg], { allowFail: true });
      rmSync(xdg, { recursive: true, force: true });
    }
  });

  test('unknown platform and no node: agentless, and the reason names both', async () => {
    // a PATH with every tool but node, and a uname that says FreeBSD
    const bin = mkdtempSync(join(tmpdir(), 'pl-fakebin-'));
    for (const f of readdirSync('/usr/bin'))
      if (f !== 'node' && f !== 'uname') symlinkSync(`/usr/bin/${f}`, join(bin, f));
    writeFileSync(
      join(bin, 'uname'),
      '#!/bin/sh\ncase "$1" in -s) echo FreeBSD ;; -m) echo amd64 ;; *) echo FreeBSD ;; esac\n',
    );
    chmodSync(join(bin, 'uname'), 0o755);
    const xdg = mkdtempSync(join(tmpdir(), 'pl-deploy-cache-'));
    mkdirSync(join(xdg, 'x'), { recursive: true });
    const host = await RemoteHost.start({ sshdConfig: [`SetEnv XDG_CACHE_HOME=${xdg} PATH=${bin}`] });
    const session = await Ssh2Session.connect(host);
    const logs: string[] = [];
    try {
      const r = await deployAgent(session, { mode: 'auto', log: (level, msg) => logs.push(`${level} ${msg}`) });
      assert.equal(r.mode, 'none');
      assert.equal(r.platform, 'freebsd-amd64');
      assert.match(r.reason ?? '', /node: the remote has no node/);
      assert.match(r.reason ?? '', /binary: no agent executable exists for platform freebsd-amd64/);
      assert.ok(logs.some((l) => l.startsWith('warn') && l.includes('agentless')));
    } finally {
      session.close();
      await host.close();
      rmSync(xdg, { recursive: true, force: true });
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

describe('deploy on a host whose shell prints on every session (~/.bashrc echo)', () => {
  test('probe, install and the agent stream all survive the noise; the link says what it skipped', async (t) => {
    const home = mkdtempSync(join(tmpdir(), 'pl-noisy-home-'));
    writeFileSync(join(home, '.bashrc'), 'echo "Welcome to the noisy host, $USER"\n');
    const host = await RemoteHost.start({ sshdConfig: [`SetEnv HOME=${home} XDG_CACHE_HOME=${home}/.cache`] });
    const session = await Ssh2Session.connect(host);
    const logs: string[] = [];
    const log = (level: string, msg: string) => logs.push(`${level} ${msg}`);
    try {
      const echo = await session.exec('true');
      if (!echo.stdout.toString().includes('Welcome')) {
        t.skip('this bash does not source ~/.bashrc for ssh commands: nothing to prove here');
        return;
      }
      const r = await deployAgent(session, { mode: 'auto', log });
      assert.equal(r.mode, 'node', r.reason);
      const link = await startAgent(session, r, { log });
      try {
        assert.equal(link.info?.scanner, 'procfs');
        assert.ok(logs.some((l) => l.startsWith('warn') && l.includes('Welcome to the noisy host')));
        await watchFinds(link, host, 3000);
      } finally {
        await link.close();
      }
    } finally {
      session.close();
      await host.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
