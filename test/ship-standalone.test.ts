import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { WIRE_PROTOCOL_VERSION } from '@port-linker/proto';
import { RemoteHost } from './harness/index.ts';
import { runCli } from './support/cli-run.ts';
import { mirrorsWithEachAgent } from './support/shipped-mirror.ts';
import { tcpRoundTrip } from './support/tcp-client.ts';

const ROOT = join(import.meta.dirname, '..');
const EXE = join(ROOT, 'dist/standalone/port-linker-linux-x64');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')) as { version: string })
  .version;

// The standalone executable (scripts/build-standalone.mjs; npm test builds the linux-x64 one) on a PATH with no
// Node: the foreground mirror, the agent it carries, the daemon it starts (itself again) and the dashboard page.
describe('the standalone executable port-linker-linux-x64, with no Node in PATH', () => {
  let dir: string;
  let host: RemoteHost;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    assert.ok(existsSync(EXE), `${EXE} is missing: run npm run build:standalone -- --platforms linux-x64`);
    dir = mkdtempSync(join(tmpdir(), 'pl-standalone-'));
    const bin = join(dir, 'empty-bin'); // PATH: nothing, so no node (ssh2 and the CLI need no program here)
    mkdirSync(bin);
    env = { PATH: bin, HOME: join(dir, 'home'), XDG_CACHE_HOME: join(dir, 'cache'), PORT_LINKER_LOG: undefined };
    host = await RemoteHost.start();
  });
  after(async () => {
    await host?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('--version answers; the checksum file matches the executable', async () => {
    const r = await runCli(['--version'], env, 10_000, [EXE]);
    assert.equal(r.stdout.trim(), `port-linker ${VERSION} (wire protocol ${WIRE_PROTOCOL_VERSION})`, r.stderr);
    const [sum, name] = readFileSync(`${EXE}.sha256`, 'utf8').trim().split(/\s+/);
    assert.equal(name, 'port-linker-linux-x64');
    assert.equal(sum, createHash('sha256').update(readFileSync(EXE)).digest('hex'));
  });

  test('mirrors a real host with the agent it carries (script and single executable), written 0600 in 0700', async () => {
    await mirrorsWithEachAgent([EXE], host, env, dir);
    const base = join(dir, 'cache/port-linker/standalone');
    assert.equal(statSync(base).mode & 0o777, 0o700);
    const [build] = readdirSync(base);
    assert.ok(build && /^[0-9a-f]{16}$/.test(build), `one build directory: ${readdirSync(base)}`);
    assert.equal(statSync(join(base, build, 'agent/dist/agent.cjs')).mode & 0o777, 0o600);
  });

  test('up starts the daemon (the executable again), ls sees the host, the dashboard page is served', async () => {
    const svc = await host.serve('tcp-echo');
    const state = { ...env, PORT_LINKER_HOME: join(dir, 'daemon-state') };
    const file = join(dir, 'port-linker.yml');
    host.writeProfile(file, [`    ports: "${svc.port}"`]);
    try {
      const up = await runCli(['up', '-f', file], state, 60_000, [EXE]);
      assert.equal(up.code, 0, up.stderr);
      let local: number | undefined;
      for (const deadline = Date.now() + 20_000; !local && Date.now() < deadline; await delay(50)) {
        const ls = JSON.parse((await runCli(['ls', '--json'], state, 10_000, [EXE])).stdout) as {
          hosts: Array<{ forwards: Array<{ localPort: number; spec: { remotePort: number } }> }>;
        };
        local = ls.hosts[0]?.forwards.find((f) => f.spec.remotePort === svc.port)?.localPort;
      }
      assert.ok(local, 'the daemon mirrors the service');
      assert.equal((await tcpRoundTrip(local, Buffer.from('daemon'))).toString(), 'daemon');
      const link = await runCli(['dashboard', '--no-open'], state, 10_000, [EXE]);
      const url = /http:\/\/\S+/.exec(link.stdout + link.stderr)?.[0];
      assert.ok(url, link.stdout + link.stderr);
      const page = await fetch(url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i, 'the page from the executable’s assets');
    } finally {
      await runCli(['daemon', 'stop'], state, 20_000, [EXE]).catch(() => {});
      await svc.stop();
    }
  });
});
