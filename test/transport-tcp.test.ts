import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { deployAgent, StdioAgentLink, startAgent } from '@port-linker/deploy';
import type { Message } from '@port-linker/proto';
import { negotiateTransport } from '@port-linker/transport';
import { RemoteHost, waitFor } from './harness/index.ts';
import { ensureAgentBundle } from './support/agent-bundle.ts';
import { CliProcess } from './support/cli-process.ts';
import { Ssh2Session } from './support/ssh2-session.ts';
import { tcpRoundTrip } from './support/tcp-client.ts';
import { udpAskOnce } from './support/udp-client.ts';

/** A direct-tcpip dialer on an ssh2 session. */
function dialer(session: Ssh2Session) {
  return (host: string, port: number) =>
    new Promise<Duplex>((resolve, reject) =>
      session.client.forwardOut('127.0.0.1', 0, host, port, (err, ch) => (err ? reject(err) : resolve(ch))),
    );
}

describe('tcp transport (real sshd)', () => {
  let host: RemoteHost;
  let xdg: string;
  before(async () => {
    ensureAgentBundle();
    xdg = mkdtempSync(join(tmpdir(), 'pl-transport-cache-'));
    // a getconf that reports a glibc older than the QUIC addon needs: the agent must not be offered QUIC
    const bin = join(xdg, 'old-glibc-bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'getconf'), '#!/bin/sh\necho glibc 2.31\n', { mode: 0o755 });
    host = await RemoteHost.start({
      sshdConfig: [`SetEnv XDG_CACHE_HOME=${xdg} PATH=${bin}:/usr/local/bin:/usr/bin:/bin`],
    });
  });
  after(async () => {
    await host?.close();
    rmSync(xdg, { recursive: true, force: true });
  });

  test('--transport tcp: agent event says tcp; watch push, TCP and UDP mirroring work; a restarted agent renegotiates tcp', async () => {
    const cli = CliProcess.against(host, ['--transport', 'tcp', '--data-path', 'ssh']); // no data path listener: only the transport's
    try {
      const first = await cli.waitEvent((e) => e.event === 'agent', 'agent');
      assert.equal(first.transport, 'tcp');
      const tcp = await host.serve('tcp-echo', 0, '0.0.0.0');
      const udp = await host.serve('udp-echo', 0, '127.0.0.1');
      await cli.forwardFor(tcp.port);
      await cli.forwardFor(udp.port, 'udp');
      assert.ok((await tcpRoundTrip(tcp.port, Buffer.from('over tcp'))).equals(Buffer.from('over tcp')));
      assert.equal((await udpAskOnce(udp.port, Buffer.from('datagram'))).toString(), 'datagram');
      assert.ok(!/unavailable/.test(cli.stderr), 'no fallback warning');
      const own = (await host.exec(['ss', '-Htlnp'])).stdout
        .split('\n')
        .filter((l) => l.includes(`pid=${first.pid},`))
        .map((l) => Number(/:(\d+)\s/.exec(l)?.[1]));
      assert.deepEqual(own, [], 'the agent stops listening once its tcp transport is connected');
      assert.equal(cli.events.filter((e) => e.event === 'forward_added' && e.protocol === 'tcp').length, 1);

      await host.exec(['kill', '-9', String(first.pid)]);
      const second = await cli.waitEvent(
        (e) => e.event === 'agent' && e.pid !== first.pid,
        'a restarted agent',
        20_000,
      );
      assert.equal(second.transport, 'tcp', 'the restarted agent negotiates tcp again');
      assert.equal((await udpAskOnce(udp.port, Buffer.from('again'))).toString(), 'again');
      await tcp.stop();
      await udp.stop();
    } finally {
      await cli.stop();
    }
  });

  test('--transport quic on a remote whose glibc is too old for the QUIC addon: nothing of QUIC uploaded, tcp with a warning', async () => {
    const cli = CliProcess.against(host, ['--transport', 'quic']);
    try {
      const agent = await cli.waitEvent((e) => e.event === 'agent', 'agent');
      assert.equal(agent.transport, 'tcp');
      assert.match(cli.stderr, /quic not offered by the agent: the remote is linux-x64 with glibc 2\.31; QUIC needs/);
      assert.match(cli.stderr, /--transport quic unavailable \(agent offered tcp, stdio; not offered\); using tcp/);
      assert.ok(!existsSync(join(xdg, 'port-linker', 'agents', 'quic')), 'no QUIC files on the remote');
    } finally {
      await cli.stop();
    }
  });

  test('a peer without the session secret is dropped; the host with it gets the transport', async () => {
    const session = await Ssh2Session.connect(host);
    const logs: string[] = [];
    try {
      const deployed = await deployAgent(session, { mode: 'node' });
      const channel = await session.spawn(`${deployed.command} --silence-timeout-ms 10000 --log-level debug`);
      const link = new StdioAgentLink(channel, 'node', { silenceTimeoutMs: 10_000, pingIntervalMs: 1000 }, () => {});
      link.on('log', (e: { message: string }) => logs.push(e.message));
      await link.ready;
      const offer = await link.offer(2000);
      const tcp = offer?.find((e) => e.kind === 'tcp');
      assert.ok(tcp && tcp.kind === 'tcp', 'the agent offers tcp');
      assert.equal(tcp.secret.byteLength, 32);

      const dial = dialer(session);
      const intruder = await dial('127.0.0.1', tcp.port);
      const closed = once(intruder, 'end');
      intruder.on('data', () => {});
      intruder.write(randomBytes(32));
      await closed;
      await waitFor(
        () => logs.some((l) => /dropped a tcp peer: wrong secret/.test(l)),
        'the agent logs the drop',
        5000,
      );

      const result = await negotiateTransport(offer ?? [], 'tcp', {
        sendControl: (m) => link.sendControl(m),
        dial,
        log: () => {},
      });
      assert.equal(result.kind, 'tcp');
      assert.ok(result.transport);
      link.useTransport(result.transport);
      const got: Message[] = [];
      link.on('message', (m: Message) => got.push(m));
      link.send({ type: 'ScanRequest', tcp: true, udp: false });
      await waitFor(() => got.some((m) => m.type === 'ScanResponse'), 'a ScanResponse over tcp', 5000);
      assert.ok(result.transport.stats().bytesIn > 0, 'the answer came over the tcp transport');
      await link.close();
    } finally {
      session.client.end();
    }
  });
});

describe('tcp transport fallback (real sshd without TCP forwarding)', () => {
  let host: RemoteHost;
  let xdg: string;
  before(async () => {
    ensureAgentBundle();
    xdg = mkdtempSync(join(tmpdir(), 'pl-transport-cache-'));
    host = await RemoteHost.start({ sshdConfig: [`SetEnv XDG_CACHE_HOME=${xdg}`, 'AllowTcpForwarding no'] });
  });
  after(async () => {
    await host?.close();
    rmSync(xdg, { recursive: true, force: true });
  });

  test('--transport tcp cannot open its channel: stdio within the attempt timeout, with a warning, and the link works', async () => {
    const session = await Ssh2Session.connect(host);
    const logs: string[] = [];
    try {
      const deployed = await deployAgent(session, { mode: 'node' });
      const t0 = performance.now();
      const link = await startAgent(session, deployed, {
        transport: 'tcp',
        dial: dialer(session),
        attemptTimeoutMs: 2000,
        log: (level, message) => logs.push(`${level} ${message}`),
      });
      const took = performance.now() - t0;
      assert.equal(link.transport, 'stdio');
      assert.ok(took < 2000 + 3000, `negotiation took ${Math.round(took)} ms`);
      assert.ok(
        logs.some((l) => /^warn --transport tcp unavailable \(agent offered tcp, stdio; .*\); using stdio$/.test(l)),
        logs.join('\n'),
      );
      const got: Message[] = [];
      link.on('message', (m: Message) => got.push(m));
      link.send({ type: 'ScanRequest', tcp: true, udp: false });
      await waitFor(() => got.some((m) => m.type === 'ScanResponse'), 'a ScanResponse over stdio', 5000);
      await link.close();
    } finally {
      session.client.end();
    }
  });
});
