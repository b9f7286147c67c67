import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RemoteHost } from './harness/index.ts';
import { CliProcess } from './support/cli-process.ts';
import { runCli } from './support/cli-run.ts';
import { tcpRoundTrip } from './support/tcp-client.ts';

describe('a saved profile in the foreground command (real sshd)', () => {
  let host: RemoteHost;
  let dir: string;
  before(async () => {
    host = await RemoteHost.start();
    dir = mkdtempSync(join(tmpdir(), 'pl-profile-'));
  });
  after(async () => {
    await host?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('port attributes: a label on the event and in the table, ignore is not mirrored, require_local_port is skipped rather than remapped', async () => {
    const [web, hidden, fixed] = await Promise.all([0, 0, 0].map(() => host.serve('tcp-echo', 0, '0.0.0.0')));
    const ports = [web, hidden, fixed].map((s) => s?.port as number);
    // the fixed port is busy here, so it cannot keep its number
    const squatter = createServer().listen(ports[2], '127.0.0.1');
    const file = join(dir, 'port-linker.yml');
    writeFileSync(
      file,
      `version: 1
profiles:
  box:
    host: ${host.target}
    identity: ${host.clientKeyPath}
    options: { UserKnownHostsFile: ${host.knownHostsPath}, StrictHostKeyChecking: "yes" }
    protocol: tcp
    ports: "${ports.join(',')}"
    attributes:
      ${ports[0]}: { label: web, on_forward: silent }
      ${ports[1]}: { on_forward: ignore }
      ${ports[2]}: { label: fixed, require_local_port: true }
`,
    );
    const cli = new CliProcess(['--json', '--no-notify', '--profile', 'box', '-f', file]);
    try {
      const added = await cli.waitEvent(
        (e) => e.event === 'forward_added' && e.remote_port === ports[0],
        'the labelled forward',
      );
      assert.equal(added.host, 'box', 'events name the profile');
      assert.equal(added.label, 'web');
      assert.ok(
        await tcpRoundTrip(added.local_port as number, Buffer.from('x')).then((b) => b.equals(Buffer.from('x'))),
      );
      const skipped = await cli.waitEvent(
        (e) => e.event === 'conflict' && e.remote_port === ports[2],
        'the conflict of the fixed port',
      );
      assert.equal(skipped.action, 'skip', 'require_local_port: skipped, not remapped');
      assert.match(String(skipped.reason), /require_local_port/);
      assert.equal(
        cli.events.filter((e) => e.event === 'forward_added' && e.remote_port === ports[1]).length,
        0,
        'on_forward: ignore is never mirrored',
      );
      assert.equal(await cli.stop(), 0);
    } finally {
      await cli.stop().catch(() => {});
      squatter.close();
      await Promise.all([web, hidden, fixed].map((s) => s?.stop()));
    }
  });

  test('a bad profiles file or name is one line with where and what, exit 2', async () => {
    const file = join(dir, 'bad.yml');
    writeFileSync(file, 'version: 1\nprofiles:\n  box:\n    host: h\n    protocol: tpc\n');
    const bad = await runCli(['--profile', 'box', '-f', file], { PORT_LINKER_HOME: dir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr.trim(), new RegExp(`${file}:5:15: .*protocol must be one of tcp, udp, both`));
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    writeFileSync(file, `version: 1\nprofiles:\n  box:\n    host: ${host.target}\n`);
    const missing = await runCli(['--profile', 'nope', '-f', file], { PORT_LINKER_HOME: dir });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no profile nope \(it has: box\)/);
    const up = await runCli(['up', 'nope', '-f', file], { PORT_LINKER_HOME: dir });
    assert.equal(up.code, 2);
    assert.match(up.stderr, /^port-linker: error: up: no profile nope in .* \(it has: box\)\n$/);
  });
});
