import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { RemoteHost } from './harness/index.ts';
import { type CliEvent, CliProcess } from './support/cli-process.ts';
import { echoHash } from './support/tcp-client.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const dataPath = (cli: CliProcess) => cli.waitEvent((e) => e.event === 'data_path', 'a data_path event', 30_000);

describe('the direct data path (TLS to the agent) against a real sshd', () => {
  let host: RemoteHost;
  before(async () => {
    host = await RemoteHost.start();
  });
  after(async () => {
    await host?.close();
  });

  test('--data-path direct: -L connections ride the TLS session, byte-exact, 20 at once; the agent ports are not mirrored', async () => {
    const echo = await host.serve('tcp-echo', 0, '127.0.0.1');
    const cli = CliProcess.against(host, ['--data-path', 'direct', '-L', `${echo.port}:127.0.0.1:${echo.port}`]);
    try {
      const e = (await dataPath(cli)) as CliEvent & { kind: string; reason: string; rtt_direct_ms?: number };
      assert.equal(e.kind, 'direct', e.reason);
      assert.match(e.reason, /^TLS 1\.3 to /);
      assert.ok(typeof e.rtt_direct_ms === 'number' && e.rtt_direct_ms > 0);
      const big = randomBytes(4 * 1024 * 1024);
      assert.equal(await echoHash(echo.port, big), sha(big));
      const small = Array.from({ length: 20 }, (_, i) => randomBytes(10_000 + i));
      const hashes = await Promise.all(small.map((b) => echoHash(echo.port, b)));
      assert.deepEqual(hashes, small.map(sha));
      // the agent's listener and its echo are its own ports: never mirrored (auto mode would see them)
      const mirrored = cli.events.filter((x) => x.event === 'forward_added').map((x) => x.remote_port);
      assert.deepEqual([...new Set(mirrored)], [echo.port]);
    } finally {
      await cli.stop();
      await echo.stop();
    }
  });

  test("--data-path direct: a killed agent takes its TLS session along; connections go on, then the new agent's path", async () => {
    const echo = await host.serve('tcp-echo', 0, '127.0.0.1');
    const cli = CliProcess.against(host, ['--data-path', 'direct', '--ports', `${echo.port}`]);
    try {
      await cli.forwardFor(echo.port);
      const first = await cli.waitEvent((e) => e.event === 'agent', 'agent');
      assert.equal((await dataPath(cli)).kind, 'direct');
      await host.exec(['kill', '-9', String(first.pid)]);
      // once the host saw the agent go (a connection accepted in that instant is closed, as with a failed channel
      // open), connections ride SSH channels while the new agent's path is measured
      await cli.waitEvent((e) => e.event === 'agent' && e.pid !== first.pid, 'a restarted agent', 20_000);
      const b = randomBytes(200_000);
      assert.equal(await echoHash(echo.port, b), sha(b));
      const again = await cli.waitEvent(
        (e) => e.event === 'data_path' && cli.events.filter((x) => x.event === 'data_path').indexOf(e) === 1,
        'a second data_path event',
        20_000,
      );
      assert.equal(again.kind, 'direct');
      assert.equal(await echoHash(echo.port, b), sha(b));
    } finally {
      await cli.stop();
      await echo.stop();
    }
  });

  test('auto mirroring with --data-path auto: the choice is measured and said; the agent ports are not mirrored', async () => {
    const echo = await host.serve('tcp-echo', 0, '127.0.0.1');
    const cli = CliProcess.against(host, ['--ports', `${echo.port}`]);
    try {
      await cli.forwardFor(echo.port);
      const e = (await dataPath(cli)) as CliEvent & { kind: string; rtt_direct_ms?: number; rtt_ssh_ms?: number };
      assert.ok(e.kind === 'direct' || e.kind === 'ssh');
      assert.ok(typeof e.rtt_ssh_ms === 'number' && typeof e.rtt_direct_ms === 'number', JSON.stringify(e));
      if (e.kind === 'ssh') assert.ok(e.rtt_direct_ms >= e.rtt_ssh_ms, JSON.stringify(e));
      else assert.ok(e.rtt_direct_ms < e.rtt_ssh_ms, JSON.stringify(e));
      const b = randomBytes(100_000);
      assert.equal(await echoHash(echo.port, b), sha(b));
    } finally {
      await cli.stop();
      await echo.stop();
    }
  });

  test('--no-auto keeps SSH channels and starts no agent unless --data-path direct asks', async () => {
    const echo = await host.serve('tcp-echo', 0, '127.0.0.1');
    const cli = CliProcess.against(host, ['--no-auto', '-L', `${echo.port}:127.0.0.1:${echo.port}`]);
    try {
      await cli.forwardFor(echo.port);
      const b = randomBytes(50_000);
      assert.equal(await echoHash(echo.port, b), sha(b));
      assert.equal(cli.events.filter((x) => x.event === 'agent' || x.event === 'data_path').length, 0);
    } finally {
      await cli.stop();
      await echo.stop();
    }
  });
});

describe('the direct data path where the server forbids forwarding', () => {
  let host: RemoteHost;
  before(async () => {
    host = await RemoteHost.start({ sshdConfig: ['AllowTcpForwarding no'] });
  });
  after(async () => {
    await host?.close();
  });

  test('AllowTcpForwarding no: the agent does not dial around the policy (data path ssh, with the reason)', async () => {
    const cli = CliProcess.against(host, ['--data-path', 'direct', '--ports', '1']);
    try {
      const e = (await dataPath(cli)) as CliEvent & { kind: string; reason: string };
      assert.equal(e.kind, 'ssh');
      assert.match(e.reason, /forbids TCP forwarding/);
    } finally {
      await cli.stop();
    }
  });
});
