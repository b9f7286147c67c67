// QUIC negotiation end to end, in process: the real agent runtime (runAgent) on in-memory stdio, the real host link
// (StdioAgentLink) and negotiation, QUIC and TCP on loopback, with the agent's QUIC loader injected. This covers
// what is hard to stage over sshd (pin refusals both ways, a silent UDP port, a loader that fails); the deployed
// agent with its uploaded or embedded QUIC files is tested in transport-quic-deployed.test.ts.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect } from 'node:net';
import { type Duplex, PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { runAgent } from '@port-linker/agent';
import { StdioAgentLink } from '@port-linker/deploy';
import type { LogEvent, Message, TransportEntry } from '@port-linker/proto';
import { negotiateTransport, type QuicConnector } from '@port-linker/transport';
import { connectQuicTransport, generateQuicIdentity, listenQuic, quicConnector } from '@port-linker/transport/quic';
import { waitFor } from './harness/index.ts';

const scanner = {
  backend: 'procfs' as const,
  scan: async () => ({
    sockets: [{ protocol: 'tcp' as const, port: 4321, address: '127.0.0.1', process: 'svc' }],
    malformed: 0,
  }),
};

/** Starts an in-process agent (QUIC loader injected unless `quic` is false) and a host link to it. */
async function startPair(quic: boolean | (() => Promise<never>) = true) {
  const toAgent = new PassThrough();
  const fromAgent = new PassThrough();
  let exited!: (v: { code: number | null }) => void;
  const exit = new Promise<{ code: number | null }>((resolve) => {
    exited = resolve;
  });
  void runAgent({
    argv: ['--log-level', 'debug', '--silence-timeout-ms', '10000'],
    stdin: toAgent,
    stdout: fromAgent,
    stderr: new PassThrough(),
    exit: (code) => exited({ code }),
    scanner: async () => scanner,
    signature: null,
    ...(quic === true ? { quic: () => listenQuic('127.0.0.1') } : typeof quic === 'function' ? { quic } : {}),
  });
  const channel = { stdin: toAgent, stdout: fromAgent, stderr: new PassThrough(), exit, close: () => toAgent.end() };
  const link = new StdioAgentLink(channel, 'node', { silenceTimeoutMs: 10_000, pingIntervalMs: 1000 }, () => {});
  const logs: string[] = [];
  link.on('log', (e: LogEvent) => logs.push(e.message));
  const messages: Message[] = [];
  link.on('message', (m: Message) => messages.push(m));
  await link.ready;
  const offer = (await link.offer(3000)) ?? [];
  return { link, logs, messages, offer };
}

const dial = async (host: string, port: number): Promise<Duplex> => {
  const s = connect(port, host);
  await once(s, 'connect');
  return s;
};

function peer(link: StdioAgentLink, quic?: QuicConnector) {
  return { sendControl: (m: Message) => link.sendControl(m), dial, log: () => {}, ...(quic ? { quic } : {}) };
}

describe('quic transport negotiation (in-process agent, loopback)', () => {
  const links: StdioAgentLink[] = [];
  after(async () => {
    for (const l of links) await l.close();
  });

  test('quic is offered and negotiated: scan, watch push and UDP echo ride it', async () => {
    const { link, messages, offer } = await startPair();
    links.push(link);
    assert.deepEqual(
      offer.map((e) => e.kind),
      ['quic', 'tcp', 'stdio'],
    );
    const r = await negotiateTransport(offer, 'quic', peer(link, await quicConnector('127.0.0.1')), 3000);
    assert.equal(r.kind, 'quic', r.failures.join('; '));
    assert.ok(r.transport);
    link.useTransport(r.transport);
    assert.equal(link.transport, 'quic');
    const before = r.transport.stats().bytesIn;

    link.send({ type: 'ScanRequest', tcp: true, udp: false });
    await waitFor(() => messages.some((m) => m.type === 'ScanResponse'), 'ScanResponse over quic', 5000);
    link.send({ type: 'WatchRequest', tcp: true, udp: false, intervalMs: 100 });
    await waitFor(() => messages.some((m) => m.type === 'ScanDelta' && m.full), 'a full ScanDelta over quic', 5000);

    const echo = createSocket('udp4');
    echo.on('message', (m, rinfo) => echo.send(m, rinfo.port, rinfo.address));
    echo.bind(0, '127.0.0.1');
    await once(echo, 'listening');
    const port = echo.address().port;
    link.send({ type: 'StartUdpForward', port, address: '127.0.0.1' });
    link.send({ type: 'UdpPacket', srcPort: 5555, dstPort: port, id: 7, data: Buffer.from('over quic') });
    await waitFor(
      () =>
        messages.some((m) => m.type === 'UdpPacket' && Buffer.from(m.data).toString() === 'over quic' && m.id === 7),
      'the UDP echo back over quic',
      5000,
    );
    echo.close();
    assert.ok(r.transport.stats().bytesIn > before, 'the answers came over the quic transport');
  });

  test("a fingerprint that is not the agent's certificate is refused by the host, which falls back to tcp", async () => {
    const { link, offer } = await startPair();
    links.push(link);
    const tampered: TransportEntry[] = offer.map((e) =>
      e.kind === 'quic' ? { ...e, fingerprint: e.fingerprint.map((b) => b ^ 0xff) } : e,
    );
    const r = await negotiateTransport(tampered, 'quic', peer(link, await quicConnector('127.0.0.1')), 3000);
    assert.equal(r.kind, 'tcp');
    assert.match(r.failures[0] ?? '', /certificate does not match the fingerprint it offered over SSH: refused/);
    r.transport?.close();
  });

  test('a host certificate other than the one announced in TransportAccept is refused by the agent', async () => {
    const { link, offer } = await startPair();
    links.push(link);
    const announced = await generateQuicIdentity('announced');
    const presented = await generateQuicIdentity('presented');
    const liar: QuicConnector = {
      fingerprint: announced.fingerprint,
      connect: (port, fingerprint, timeoutMs) =>
        connectQuicTransport({ host: '127.0.0.1', port, fingerprint, identity: presented, timeoutMs }),
    };
    const r = await negotiateTransport(offer, 'quic', peer(link, liar), 2000);
    assert.equal(r.kind, 'tcp', 'quic was refused, tcp took over');
    assert.match(r.failures[0] ?? '', /quic transport/);
    r.transport?.close();
  });

  test('UDP blocked (nothing answers on the offered port): falls back to tcp within the attempt timeout', async () => {
    const { link, offer } = await startPair();
    links.push(link);
    const closed = createSocket('udp4');
    closed.bind(0, '127.0.0.1');
    await once(closed, 'listening');
    const deadPort = closed.address().port; // bound and silent: datagrams vanish like behind a drop rule
    const blocked = offer.map((e) => (e.kind === 'quic' ? { ...e, port: deadPort } : e));
    const t0 = performance.now();
    const r = await negotiateTransport(blocked, 'quic', peer(link, await quicConnector('127.0.0.1')), 1500);
    const took = performance.now() - t0;
    closed.close();
    assert.equal(r.kind, 'tcp');
    assert.ok(took < 1500 + 1000, `fell back in ${Math.round(took)} ms`);
    r.transport?.close();
  });

  test('an agent whose QUIC cannot load (no native addon) offers tcp and stdio and keeps running', async () => {
    const { link, offer, logs } = await startPair(() => Promise.reject(new Error('cannot load the native addon')));
    links.push(link);
    assert.deepEqual(
      offer.map((e) => e.kind),
      ['tcp', 'stdio'],
    );
    await waitFor(
      () => logs.some((l) => l.includes('quic not offered: cannot load the native addon')),
      'the log',
      3000,
    );
  });
});
