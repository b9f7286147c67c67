import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AgentLink, type DeployResult, deployAgent, type RemoteSession, startAgent } from '@port-linker/deploy';
import {
  encodeMessage,
  type ListeningSocket,
  type LogEvent,
  type Message,
  MessageDecoder,
  type MessageOf,
} from '@port-linker/proto';
import { RemoteHost, waitFor } from './harness/index.ts';
import { AGENT_DIST, ensureAgentBundle, pidAlive } from './support/agent-bundle.ts';
import { Ssh2Session } from './support/ssh2-session.ts';

/** Collects the ScanDelta stream of a link into the current remote socket set. */
function trackPorts(link: AgentLink): { ports: Map<string, ListeningSocket>; deltas: MessageOf<'ScanDelta'>[] } {
  const ports = new Map<string, ListeningSocket>();
  const deltas: MessageOf<'ScanDelta'>[] = [];
  link.on('message', (m: Message) => {
    if (m.type !== 'ScanDelta') return;
    deltas.push(m);
    if (m.full) ports.clear();
    for (const s of m.removed) ports.delete(`${s.protocol}/${s.address}/${s.port}`);
    for (const s of m.added) ports.set(`${s.protocol}/${s.address}/${s.port}`, s);
  });
  return { ports, deltas };
}

const hasPort = (ports: Map<string, ListeningSocket>, port: number) =>
  [...ports.values()].some((s) => s.protocol === 'tcp' && s.port === port);

describe('deploy: node mode over a real sshd (SFTP), verified cache', () => {
  let host: RemoteHost;
  let session: Ssh2Session;
  let cacheDir: string;
  let xdg = '';
  const logs: string[] = [];
  const log = (level: string, msg: string) => logs.push(`${level} ${msg}`);
  let first: DeployResult;

  before(async () => {
    ensureAgentBundle();
    // a private cache per test host: the namespace shares this machine's filesystem and /root
    xdg = mkdtempSync(join(tmpdir(), 'pl-deploy-cache-'));
    host = await RemoteHost.start({ sshdConfig: ['Subsystem sftp internal-sftp', `SetEnv XDG_CACHE_HOME=${xdg}`] });
    cacheDir = join(xdg, 'port-linker', 'agents');
    session = await Ssh2Session.connect(host);
  });
  after(async () => {
    session?.close();
    await host?.close();
    if (xdg) rmSync(xdg, { recursive: true, force: true });
  });

  test('first deploy uploads the script into a 0700 cache dir; the agent starts and watches', async () => {
    first = await deployAgent(session, { mode: 'auto', log });
    const script = readFileSync(join(AGENT_DIST, 'agent.cjs'));
    const sha = createHash('sha256').update(script).digest('hex');
    assert.equal(first.mode, 'node');
    assert.equal(first.platform, 'linux-x64');
    assert.equal(first.cached, false);
    assert.equal(first.sha256, sha);
    assert.ok(
      first.bytesUploaded > 1000 && first.bytesUploaded < script.byteLength,
      `gzip upload ${first.bytesUploaded}`,
    );
    assert.equal(first.via, 'sftp');
    assert.match(first.reason ?? '', /remote has node 20\./);
    assert.equal(readFileSync(join(cacheDir, sha)).equals(script), true);
    assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(cacheDir, '..')).mode & 0o777, 0o700);
    assert.deepEqual(
      readdirSync(cacheDir).filter((f) => f.startsWith('.')),
      [],
      'no temp files left behind',
    );

    const link = await startAgent(session, first, { log });
    try {
      assert.equal(link.info?.platform, 'linux');
      assert.equal(link.info?.scanner, 'procfs');
      const { ports, deltas } = trackPorts(link);
      const agentLogs: LogEvent[] = [];
      link.on('log', (e: LogEvent) => agentLogs.push(e));
      link.send({ type: 'WatchRequest', tcp: true, udp: true, intervalMs: 100 });
      await waitFor(() => deltas.length > 0, 'full delta', 5000);
      assert.equal(deltas[0]?.full, true);
      assert.ok(hasPort(ports, 22), 'sshd port 22 in the full list');
      const svc = await host.serve('tcp-listen', 0, '127.0.0.1');
      const t0 = Date.now();
      await waitFor(() => hasPort(ports, svc.port), `delta adding port ${svc.port}`, 3000);
      const latency = Date.now() - t0;
      assert.ok(latency < 1000, `new listener reached the host in ${latency} ms`);
      await svc.stop();
      await waitFor(() => !hasPort(ports, svc.port), `delta removing port ${svc.port}`, 3000);
      await waitFor(() => agentLogs.some((e) => e.message.includes('watching tcp udp')), 'agent log via LogBatch');
    } finally {
      await link.close();
    }
  });

  test('second deploy reuses the verified cached file: zero bytes uploaded', async () => {
    const sent = session.bytesSent;
    const again = await deployAgent(session, { mode: 'auto', log });
    assert.equal(again.mode, 'node');
    assert.equal(again.cached, true);
    assert.equal(again.bytesUploaded, 0);
    assert.equal(again.command, first.command);
    // only the probe script travelled
    assert.ok(session.bytesSent - sent < 8000, `sent ${session.bytesSent - sent} bytes`);
    assert.ok(logs.some((l) => l.includes('verified, nothing uploaded')));
  });

  test('with the agent cached, probe and agent start share one exec channel', async () => {
    const commands: string[] = [];
    const counted: RemoteSession = {
      exec: (c, o) => {
        commands.push(`exec ${c}`);
        return session.exec(c, o);
      },
      spawn: (c) => {
        commands.push(`spawn ${c}`);
        return session.spawn(c);
      },
      writeFile: (p, d, m) => session.writeFile(p, d, m),
    };
    const deployed = await deployAgent(counted, { mode: 'auto', log });
    assert.equal(deployed.cached, true);
    assert.ok(deployed.started, 'the probe started the cached agent');
    const link = await startAgent(counted, deployed, { log });
    try {
      assert.deepEqual(commands, ['spawn sh -s'], 'one exec channel for probe and agent');
      assert.equal(link.info?.platform, 'linux');
      assert.equal(deployed.started, undefined, 'the started channel was taken over');
      const { deltas } = trackPorts(link);
      link.send({ type: 'WatchRequest', tcp: true, udp: false, intervalMs: 100 });
      await waitFor(() => deltas.length > 0, 'full delta over the shared channel', 5000);
      assert.ok(!logs.some((l) => l.includes('skipped') && l.includes('before the agent')), 'no probe text as noise');
    } finally {
      await link.close();
    }
    // other agent arguments than the probe's: startAgent starts its own agent and closes the probe's
    const other = await deployAgent(session, { mode: 'auto', log, startInProbe: { logLevel: 'debug' } });
    assert.ok(other.started);
    const second = await startAgent(session, other, { log });
    await second.close();
  });

  test('a tampered or truncated cached file is detected and replaced; old versions are pruned to 3', async () => {
    const path = join(cacheDir, first.sha256 ?? '');
    appendFileSync(path, '// tampered\n');
    // four older "versions" that pruning must trim (the newest 3 stay, counting the one installed now)
    const old = Date.now() / 1000 - 3600;
    for (let i = 0; i < 4; i++) {
      const fake = join(cacheDir, createHash('sha256').update(`old ${i}`).digest('hex'));
      writeFileSync(fake, `old ${i}`);
      utimesSync(fake, old + i, old + i);
    }
    const fixed = await deployAgent(session, { mode: 'auto', log });
    assert.equal(fixed.cached, false);
    assert.ok(fixed.bytesUploaded > 0);
    assert.ok(logs.some((l) => l.startsWith('warn') && l.includes('failed its sha256 check')));
    const script = readFileSync(join(AGENT_DIST, 'agent.cjs'));
    assert.equal(readFileSync(path).equals(script), true, 'the cached file is whole again');
    const kept = readdirSync(cacheDir).filter((f) => /^[0-9a-f]{64}$/.test(f));
    assert.equal(kept.length, 3);
    assert.ok(kept.includes(first.sha256 ?? ''));

    writeFileSync(path, script.subarray(0, 100)); // truncated
    const again = await deployAgent(session, { mode: 'auto', log });
    assert.equal(again.cached, false);
    assert.equal(readFileSync(path).equals(script), true);
  });

  test('stdout carries only valid frames: the whole stream decodes, nothing left over', async () => {
    const ch = await session.spawn(`${first.command} --log-level trace --silence-timeout-ms 5000`);
    const chunks: Buffer[] = [];
    const watcher = new MessageDecoder();
    let sawDelta = false;
    ch.stdout.on('data', (c: Buffer) => {
      chunks.push(c);
      if (watcher.push(c).some((m) => m.type === 'ScanDelta')) sawDelta = true;
    });
    let stderr = '';
    ch.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    ch.stdin.write(encodeMessage({ type: 'Ping', value: 1n }));
    ch.stdin.write(encodeMessage({ type: 'ScanRequest', tcp: true, udp: true }));
    ch.stdin.write(encodeMessage({ type: 'WatchRequest', tcp: true, udp: true, intervalMs: 50 }));
    ch.stdin.write(encodeMessage({ type: 'StartUdpForward', port: 9999, address: '127.0.0.1' }));
    await waitFor(() => sawDelta, 'the full delta', 5000);
    const svc = await host.serve('tcp-listen', 0, '0.0.0.0');
    await new Promise((r) => setTimeout(r, 400));
    await svc.stop();
    await new Promise((r) => setTimeout(r, 300));
    ch.stdin.end();
    const exit = await ch.exit;
    assert.equal(exit.code, 0);
    assert.equal(stderr, '', 'nothing on stderr in a clean run');
    const decoder = new MessageDecoder();
    const messages = decoder.push(Buffer.concat(chunks));
    decoder.end(); // throws if the stream stopped inside a frame
    assert.equal(decoder.bufferedBytes, 0);
    const types = messages.map((m) => m.type);
    assert.equal(types[0], 'AgentHello');
    assert.ok(!types.includes('Unknown'));
    for (const t of ['Pong', 'ScanResponse', 'ScanDelta', 'LogBatch']) assert.ok(types.includes(t as never), t);
    const deltas = messages.filter((m): m is MessageOf<'ScanDelta'> => m.type === 'ScanDelta');
    assert.ok(deltas.some((d) => !d.full && d.added.some((s) => s.port === svc.port)));
    assert.ok(deltas.some((d) => !d.full && d.removed.some((s) => s.port === svc.port)));
  });

  test('the agent exits within seconds after its SSH channel closes (no Shutdown, no EOF first)', async () => {
    const ch = await session.spawn(`${first.command} --silence-timeout-ms 60000`);
    const decoder = new MessageDecoder();
    const hello = await new Promise<MessageOf<'AgentHello'>>((resolve) => {
      ch.stdout.on('data', (c: Buffer) => {
        for (const m of decoder.push(c)) if (m.type === 'AgentHello') resolve(m);
      });
    });
    const pid = hello.info.pid;
    assert.ok(pid > 0 && pidAlive(pid), `agent pid ${pid} runs`);
    const t0 = Date.now();
    ch.close();
    await waitFor(() => !pidAlive(pid), `agent pid ${pid} to exit`, 5000);
    assert.ok(Date.now() - t0 < 5000);
  });
});
