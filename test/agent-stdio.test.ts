import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { encodeMessage, type Message, MessageDecoder, type MessageOf } from '@port-linker/proto';
import { waitFor } from './harness/index.ts';
import { AGENT_DIST, builtExecutable, ensureAgentBundle } from './support/agent-bundle.ts';
import { OLDEST_REMOTE_NODE, registryNode } from './support/old-node.ts';

/** The agent as a local child process on pipes (what sshd gives it), every stdout byte decoded. */
function runLocal(argv: string[]) {
  const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: 'pipe' }) as ChildProcessWithoutNullStreams;
  const decoder = new MessageDecoder();
  const messages: Array<{ at: number; m: Message }> = [];
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    const at = performance.now();
    for (const m of decoder.push(c)) if (m.type !== 'Unknown') messages.push({ at, m });
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    messages,
    exited,
    decoder,
    get stderr() {
      return stderr;
    },
    send: (m: Message) => child.stdin.write(encodeMessage(m)),
  };
}

function listen(): Promise<{ server: Server; port: number; at: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const at = performance.now();
      const addr = server.address();
      resolve({ server, port: typeof addr === 'object' && addr ? addr.port : 0, at });
    });
  });
}

/** Opens listeners one by one and measures listen() -> ScanDelta arrival. */
async function watchLatencies(agent: ReturnType<typeof runLocal>, samples: number): Promise<number[]> {
  agent.send({ type: 'WatchRequest', tcp: true, udp: false, intervalMs: 100 });
  await waitFor(() => agent.messages.some(({ m }) => m.type === 'ScanDelta'), 'the full delta', 5000);
  const out: number[] = [];
  const servers: Server[] = [];
  for (let i = 0; i < samples; i++) {
    const { server, port, at } = await listen();
    let seen: number | undefined;
    await waitFor(
      () => {
        const hit = agent.messages.find(
          ({ m, at: t }) => t >= at && m.type === 'ScanDelta' && m.added.some((s) => s.port === port),
        );
        seen = hit?.at;
        return hit !== undefined;
      },
      `port ${port} in a delta`,
      3000,
      2,
    );
    out.push((seen ?? at) - at);
    servers.push(server); // closed at the end: a close and a listen in one tick cancel out in the kernel counters
    // jitter the phase against the scan timer so samples spread over the interval
    await new Promise((r) => setTimeout(r, 37 + ((i * 53) % 100)));
  }
  for (const s of servers) s.close();
  return out.sort((a, b) => a - b);
}

describe('agent on stdio pipes (bundled agent.cjs under node)', () => {
  let script: string;
  before(() => {
    script = ensureAgentBundle();
  });

  test('a new listen() reaches the host as a ScanDelta in < 250 ms p50; stdout is frames only', async (t) => {
    const agent = runLocal([process.execPath, script, '--silence-timeout-ms', '20000']);
    t.after(() => agent.child.kill()); // a failed wait must not leave it running for its silence timeout
    const latencies = await watchLatencies(agent, 12);
    const p50 = latencies[Math.floor(latencies.length / 2)] ?? Infinity;
    assert.ok(p50 < 250, `p50 ${p50.toFixed(0)} ms (all: ${latencies.map((l) => l.toFixed(0)).join(' ')})`);
    agent.child.stdin.end();
    assert.equal(await agent.exited, 0);
    agent.decoder.end();
    assert.equal(agent.decoder.bufferedBytes, 0);
    assert.equal(agent.messages[0]?.m.type, 'AgentHello');
    assert.equal(agent.stderr, '');
  });
});

describe(`agent.cjs under the oldest Node a remote may have (${OLDEST_REMOTE_NODE}, from the npm registry)`, () => {
  test('hello, pong, a watch delta for a new listener, clean exit on EOF', async (t) => {
    if (process.platform !== 'linux' || process.arch !== 'x64') return t.skip('the registry Node fetched is linux-x64');
    const node = registryNode();
    assert.equal(spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim(), `v${OLDEST_REMOTE_NODE}`);
    const agent = runLocal([node, ensureAgentBundle(), '--silence-timeout-ms', '20000']);
    t.after(() => agent.child.kill());
    agent.send({ type: 'Ping', value: 18n });
    const latencies = await watchLatencies(agent, 3);
    assert.ok((latencies[1] ?? Infinity) < 1000, `latencies ${latencies.join(' ')}`);
    agent.child.stdin.end();
    assert.equal(await agent.exited, 0, agent.stderr);
    assert.equal(agent.messages[0]?.m.type, 'AgentHello');
    assert.ok(agent.messages.some(({ m }) => m.type === 'Pong' && m.value === 18n));
    assert.equal(agent.stderr, '', 'no warning from the old Node');
  });
});

describe('agent single executable (linux-x64)', () => {
  let dir: string;
  let exe: string | undefined;
  before(() => {
    const gz = builtExecutable('linux-x64');
    if (!gz || process.platform !== 'linux' || process.arch !== 'x64') return;
    dir = mkdtempSync(join(tmpdir(), 'pl-agent-exe-'));
    exe = join(dir, 'port-linker-agent');
    writeFileSync(exe, gunzipSync(readFileSync(gz)));
    chmodSync(exe, 0o700);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('--version, then a frame session: hello, pong, watch delta, clean exit on EOF', async (t) => {
    if (!exe) {
      t.skip(`no linux-x64 executable in ${AGENT_DIST}/bin: run \`npm run build:agents -- --platforms linux-x64\``);
      return;
    }
    const manifest = JSON.parse(readFileSync(join(AGENT_DIST, 'manifest.json'), 'utf8'));
    const entry = manifest.binaries.find((b: { platform: string }) => b.platform === 'linux-x64');
    assert.equal(entry.size, readFileSync(exe).byteLength);
    const version = spawnSync(exe, ['--version'], { encoding: 'utf8' });
    assert.equal(version.status, 0, version.stderr);
    assert.equal(JSON.parse(version.stdout).version, manifest.agentVersion);
    const agent = runLocal([exe]);
    t.after(() => agent.child.kill());
    agent.send({ type: 'Ping', value: 77n });
    const latencies = await watchLatencies(agent, 3);
    assert.ok((latencies[1] ?? Infinity) < 1000, `latencies ${latencies.join(' ')}`);
    agent.child.stdin.end();
    assert.equal(await agent.exited, 0);
    const hello = agent.messages[0]?.m as MessageOf<'AgentHello'>;
    assert.equal(hello.type, 'AgentHello');
    assert.equal(hello.info.platform, 'linux');
    assert.ok(agent.messages.some(({ m }) => m.type === 'Pong' && m.value === 77n));
    assert.equal(agent.stderr, '', 'no SEA warning or anything else on stderr');
  });
});
