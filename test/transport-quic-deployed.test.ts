// `--transport quic` with a deployed agent against a real sshd: the node agent gets the QUIC bundle and addon
// uploaded into its cache, the single executable loads its embedded copy; fallback to tcp when UDP is dropped.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RemoteHost } from './harness/index.ts';
import { AGENT_DIST, builtExecutable, ensureAgentBundle, ROOT } from './support/agent-bundle.ts';
import { CliProcess } from './support/cli-process.ts';
import { tcpRoundTrip } from './support/tcp-client.ts';
import { udpAskOnce } from './support/udp-client.ts';

/** Builds agent-quic.cjs and the addon copy when missing or older than the transport sources. */
function ensureQuicBundle(): void {
  const out = join(AGENT_DIST, 'agent-quic.cjs');
  const src = join(ROOT, 'packages', 'transport', 'src');
  const newest = Math.max(...readdirSync(src).map((f) => statSync(join(src, f)).mtimeMs));
  if (!existsSync(out) || !existsSync(join(AGENT_DIST, 'quic-linux-x64.node')) || statSync(out).mtimeMs < newest)
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs'), 'quic'], { stdio: 'inherit' });
}

const quicExecutable = (): boolean => {
  if (!builtExecutable('linux-x64')) return false;
  const manifest = JSON.parse(readFileSync(join(AGENT_DIST, 'manifest.json'), 'utf8')) as {
    binaries?: Array<{ platform: string; quic?: boolean }>;
  };
  return manifest.binaries?.some((b) => b.platform === 'linux-x64' && b.quic === true) ?? false;
};

describe('quic transport with a deployed agent (real sshd)', () => {
  let host: RemoteHost;
  let xdg: string;
  before(async () => {
    ensureAgentBundle();
    ensureQuicBundle();
    xdg = mkdtempSync(join(tmpdir(), 'pl-quic-cache-'));
    host = await RemoteHost.start({ sshdConfig: [`SetEnv XDG_CACHE_HOME=${xdg}`] });
  });
  after(async () => {
    await host?.close();
    rmSync(xdg, { recursive: true, force: true });
  });

  test('--transport quic: node agent gets the QUIC files; watch push, TCP and UDP work; a killed agent renegotiates quic', async () => {
    const udp = await host.serve('udp-echo', 0, '127.0.0.1');
    const cli = CliProcess.against(host, ['--transport', 'quic']);
    try {
      const first = await cli.waitEvent((e) => e.event === 'agent', 'agent');
      assert.equal(first.transport, 'quic', cli.stderr.slice(-2000));
      assert.ok((first.bytes_uploaded as number) > 1_000_000, 'the addon was uploaded with the agent');
      const quicDir = join(xdg, 'port-linker', 'agents', 'quic');
      assert.equal(statSync(quicDir).mode & 0o777, 0o700);
      assert.equal(readdirSync(quicDir).filter((f) => /^[0-9a-f]{64}$/.test(f)).length, 2);
      // pushed by the watch after the agent is up
      const tcp = await host.serve('tcp-echo', 0, '0.0.0.0');
      await cli.forwardFor(tcp.port);
      await cli.forwardFor(udp.port, 'udp');
      assert.ok((await tcpRoundTrip(tcp.port, Buffer.from('over quic'))).equals(Buffer.from('over quic')));
      assert.equal((await udpAskOnce(udp.port, Buffer.from('datagram'))).toString(), 'datagram');
      assert.ok(!/unavailable/.test(cli.stderr), 'no fallback warning');

      await host.exec(['kill', '-9', String(first.pid)]);
      const second = await cli.waitEvent(
        (e) => e.event === 'agent' && e.pid !== first.pid,
        'a restarted agent',
        20_000,
      );
      assert.equal(second.transport, 'quic', 'the restarted agent negotiates quic again');
      assert.equal(second.bytes_uploaded, 0, 'agent and QUIC files come from the verified cache');
      assert.equal((await udpAskOnce(udp.port, Buffer.from('again'))).toString(), 'again');
      await tcp.stop();
    } finally {
      await cli.stop();
      await udp.stop();
    }
  });

  test('UDP dropped by nftables on the remote: --transport quic falls back to tcp within the attempt, with a warning', async () => {
    await host.exec(['nft', 'add', 'table', 'inet', 'pl_quic_test']);
    await host.exec(['nft', 'add', 'chain', 'inet', 'pl_quic_test', 'in', '{ type filter hook input priority 0; }']);
    await host.exec(['nft', 'add', 'rule', 'inet', 'pl_quic_test', 'in', 'udp', 'dport', '1024-65535', 'drop']);
    const cli = CliProcess.against(host, ['--transport', 'quic']);
    try {
      const agent = await cli.waitEvent((e) => e.event === 'agent', 'agent', 20_000);
      assert.equal(agent.transport, 'tcp');
      assert.match(
        cli.stderr,
        /--transport quic unavailable \(agent offered quic, tcp, stdio; quic transport: cannot connect to udp port \d+ of \S+: QUIC Client create timeout, no answer in \d+ ms[^)]*\); using tcp/,
      );
      const tcp = await host.serve('tcp-echo', 0, '0.0.0.0');
      await cli.forwardFor(tcp.port);
      assert.ok((await tcpRoundTrip(tcp.port, Buffer.from('x'))).equals(Buffer.from('x')));
      await tcp.stop();
    } finally {
      await cli.stop();
      await host.exec(['nft', 'delete', 'table', 'inet', 'pl_quic_test'], { allowFail: true });
    }
  });

  test('binary-mode agent (single executable) loads its embedded QUIC and negotiates it', async (t) => {
    if (!quicExecutable()) {
      t.skip('no linux-x64 executable with QUIC embedded (npm run build:agents -- --platforms linux-x64)');
      return;
    }
    const cli = CliProcess.against(host, ['--transport', 'quic', '--agent', 'binary']);
    try {
      const agent = await cli.waitEvent((e) => e.event === 'agent', 'agent', 30_000);
      assert.equal(agent.mode, 'binary');
      assert.equal(agent.transport, 'quic', cli.stderr.slice(-2000));
      // the embedded files, written to the private quic/ dir next to the executable (0700, files 0600)
      const quicDir = join(xdg, 'port-linker', 'agents', 'quic');
      assert.equal(statSync(quicDir).mode & 0o777, 0o700);
      const files = readdirSync(quicDir).filter((f) => /^[0-9a-f]{64}$/.test(f));
      assert.ok(files.length >= 2);
      for (const f of files) assert.equal(statSync(join(quicDir, f)).mode & 0o777, 0o600, f);
      const tcp = await host.serve('tcp-echo', 0, '0.0.0.0');
      await cli.forwardFor(tcp.port);
      assert.ok((await tcpRoundTrip(tcp.port, Buffer.from('sea'))).equals(Buffer.from('sea')));
      await tcp.stop();
    } finally {
      await cli.stop();
    }
  });
});

describe('quic transport to a remote reached over IPv6 (real sshd)', () => {
  let host: RemoteHost;
  let xdg: string;
  before(async () => {
    ensureAgentBundle();
    ensureQuicBundle();
    xdg = mkdtempSync(join(tmpdir(), 'pl-quic6-cache-'));
    host = await RemoteHost.start({ ipv6: true, sshdConfig: [`SetEnv XDG_CACHE_HOME=${xdg}`] });
  });
  after(async () => {
    await host?.close();
    rmSync(xdg, { recursive: true, force: true });
  });

  test('user@v6addr --transport quic: the agent listens dual-stack, quic is negotiated over IPv6, TCP and UDP work', async () => {
    const tcp = await host.serve('tcp-echo', 0, '::');
    const udp = await host.serve('udp-echo', 0, '127.0.0.1');
    const cli = new CliProcess([
      '--json',
      '--no-notify',
      ...host.portLinkerArgs(),
      '--transport',
      'quic',
      `${host.user}@${host.address6}`,
    ]);
    try {
      const agent = await cli.waitEvent((e) => e.event === 'agent', 'agent', 20_000);
      assert.equal(agent.transport, 'quic', cli.stderr.slice(-2000));
      await cli.forwardFor(tcp.port);
      await cli.forwardFor(udp.port, 'udp');
      assert.ok((await tcpRoundTrip(tcp.port, Buffer.from('quic over v6'))).equals(Buffer.from('quic over v6')));
      assert.equal((await udpAskOnce(udp.port, Buffer.from('dgram over v6'))).toString(), 'dgram over v6');
    } finally {
      await cli.stop();
    }
  });
});
