import type { Duplex } from 'node:stream';
import { type AgentLink, deployAgent, loadQuicConnector, startAgent } from '@port-linker/deploy';
import type { Message, TransportName } from '@port-linker/proto';
import { acceptFrame } from '@port-linker/transport';
import {
  connectQuicTransport,
  generateQuicIdentity,
  QuicTransportServer,
  type QuicTuning,
} from '@port-linker/transport/quic';
import { RemoteHost } from '../test/harness/index.ts';
import { ensureAgentBundle } from '../test/support/agent-bundle.ts';
import { Ssh2Session } from '../test/support/ssh2-session.ts';
import { echoRoundTrips, packetSize, quicTwoProcess } from './bench/measure-quic.ts';
import { percentile } from './bench/stats.ts';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 3;
const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const kinds = (arg('--transports') ?? 'stdio,tcp,quic').split(',') as TransportName[];
const only = arg('--only'); // 'ssh' (agent link over sshd) or 'quic' (QUIC class on loopback)
const rowFilter = arg('--rows')?.split(','); // quic rows whose name contains one of these
const profDir = arg('--prof'); // the two-process peer writes a .cpuprofile there

/** Sequential Ping/Pong round trips (ms). */
async function roundTrips(link: AgentLink, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const value = BigInt(1_000_000 + i);
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const on = (m: Message) => {
        if (m.type === 'Pong' && m.value === value) {
          link.off('message', on);
          resolve();
        }
      };
      link.on('message', on);
      link.send({ type: 'Ping', value });
    });
    out.push(performance.now() - t0);
  }
  return out;
}

/** UDP echo through the agent with `window` datagrams in flight: echoed MiB/s and datagrams/s. */
async function udpThroughput(link: AgentLink, port: number, size: number, window: number) {
  link.send({ type: 'StartUdpForward', port, address: '127.0.0.1' });
  const data = new Uint8Array(size).fill(7);
  let inFlight = 0;
  let echoed = 0;
  let sent = 0;
  const end = performance.now() + seconds * 1000;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (inFlight < window && performance.now() < end) {
        if (link.congested) break;
        link.send({ type: 'UdpPacket', srcPort: 40000, dstPort: port, id: 1, data });
        inFlight++;
        sent++;
      }
      if (performance.now() >= end) resolve();
    };
    link.on('message', (m: Message) => {
      if (m.type !== 'UdpPacket') return;
      echoed++;
      inFlight--;
      pump();
    });
    // a lost datagram must not stall the window
    const refill = setInterval(() => {
      inFlight = Math.max(0, inFlight - window / 4);
      pump();
      if (performance.now() >= end) {
        clearInterval(refill);
        resolve();
      }
    }, 50);
    pump();
  });
  return { mibps: (echoed * size) / seconds / 1048576, pps: echoed / seconds, loss: 1 - echoed / sent };
}

/** One-stream QUIC throughput on loopback (MiB/s) and Ping-sized round trip, for one tuning. */
async function quicLoopback(tuning: QuicTuning, chunk: number) {
  const agentId = await generateQuicIdentity('agent');
  const hostId = await generateQuicIdentity('host');
  const server = await QuicTransportServer.listen(agentId, '127.0.0.1', tuning);
  server.expectClient(hostId.fingerprint);
  let received = 0;
  server.on('peer', (s: Duplex) => {
    s.write(acceptFrame('quic'));
    s.on('data', (c: Buffer) => {
      received += c.length;
      if (c[c.length - 1] === 0xee) s.write(Buffer.from([0xee])); // echo marker for round trips
    });
  });
  const t = await connectQuicTransport({
    host: '127.0.0.1',
    port: server.port,
    fingerprint: agentId.fingerprint,
    identity: hostId,
    timeoutMs: 5000,
    tuning,
  });
  const rtt = await echoRoundTrips(t);
  const data = new Uint8Array(chunk).fill(1);
  const base = received;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    if (!t.send(data)) await new Promise((r) => t.once('drain', r));
  }
  const secs = (performance.now() - t0) / 1000;
  const mibps = (received - base) / secs / 1048576;
  t.close();
  await server.close();
  return { mibps, p50: percentile(rtt, 50), p99: percentile(rtt, 99) };
}

if (only !== 'ssh') {
  // every row spells out all knobs, so rows mean the same whatever the transport's defaults are
  const stock = { lightLocks: false, batch: false, socketBufferBytes: 0, readableChunkSize: 4096 };
  const lib = { ...stock, initialMaxData: 10 << 20, initialMaxStreamData: 1 << 20 };
  const big = { initialMaxData: 32 << 20, initialMaxStreamData: 16 << 20, readableChunkSize: 256 << 10 };
  const light = { lightLocks: true, batch: false, socketBufferBytes: 0 };
  const batch = { lightLocks: true, batch: true, socketBufferBytes: 0 };
  const buffers = { lightLocks: true, batch: true, socketBufferBytes: 4 << 20 };
  const pkts = packetSize;
  const rows = (
    [
      ['transport defaults (loopback: 65000 B)', {}, 1048576],
      ['transport defaults, 1350 B pkts', pkts(1350), 1048576],
      ['library defaults (1350 B pkts)', { ...pkts(1350), ...lib }, 65536],
      ['1350 B, windows, light lock', { ...pkts(1350), ...big, ...light }, 1048576],
      ['1350 B, windows, batched', { ...pkts(1350), ...big, ...batch }, 1048576],
      ['1350 B, windows, batched, 4M buf', { ...pkts(1350), ...big, ...buffers }, 1048576],
      ['65000 B, library defaults', { ...pkts(65000), ...lib }, 1048576],
      ['65000 B, windows, light lock', { ...pkts(65000), ...big, ...light }, 1048576],
      ['65000 B, windows, batched', { ...pkts(65000), ...big, ...batch }, 1048576],
      ['65000 B, windows, batched, 4M buf', { ...pkts(65000), ...big, ...buffers }, 1048576],
    ] satisfies Array<[string, QuicTuning, number]>
  ).filter(([name]) => !rowFilter || rowFilter.some((f) => name.includes(f)));
  const print = (name: string, r: { mibps: number; p50: number; p99: number; extra?: string }) =>
    console.log(
      `${name.padEnd(38)} ${r.mibps.toFixed(1).padStart(6)}   ${r.p50.toFixed(3)} ms  ${r.p99.toFixed(3)} ms` +
        (r.extra ? `  (${r.extra})` : ''),
    );
  // headline: host and agent are different processes in a real deployment
  console.log('quic loopback, one stream, agent in its own process MiB/s   rtt p50    rtt p99');
  for (const [name, tuning, chunk] of rows) print(name, await quicTwoProcess(tuning, chunk, seconds, profDir));
  console.log('quic loopback, one stream, both sides in one process');
  for (const [name, tuning, chunk] of rows) print(name, await quicLoopback(tuning, chunk));
}

if (only !== 'quic') {
  ensureAgentBundle();
  const host = await RemoteHost.start();
  const session = await Ssh2Session.connect(host);
  const echo = await host.serve('udp-echo', 0, '127.0.0.1');
  const dial = (h: string, p: number) =>
    new Promise<Duplex>((resolve, reject) =>
      session.client.forwardOut('127.0.0.1', 0, h, p, (err, ch) => (err ? reject(err) : resolve(ch))),
    );
  try {
    // with quic among the kinds the agent is started with its QUIC files (deployed as --transport quic does)
    const deployed = await deployAgent(session, { mode: 'node', quic: kinds.includes('quic') });
    console.log(`transport  rtt p50   rtt p99   udp 1200 B (64 in flight)      udp 16 KiB (16 in flight)`);
    for (const kind of kinds) {
      const link = await startAgent(session, deployed, {
        transport: kind,
        dial,
        logLevel: 'warn',
        quic: () => loadQuicConnector(host.address),
      });
      if ((link.transport ?? 'stdio') !== kind) throw new Error(`asked for ${kind}, got ${link.transport}`);
      await roundTrips(link, 50);
      const rtt = await roundTrips(link, 500);
      const small = await udpThroughput(link, echo.port, 1200, 64);
      const big = await udpThroughput(link, echo.port, 16 * 1024, 16);
      console.log(
        `${kind.padEnd(9)}  ${percentile(rtt, 50).toFixed(3)} ms  ${percentile(rtt, 99).toFixed(3)} ms  ` +
          `${small.pps.toFixed(0)} pkt/s ${small.mibps.toFixed(1)} MiB/s  ` +
          `${big.pps.toFixed(0)} pkt/s ${big.mibps.toFixed(1)} MiB/s`,
      );
      await link.close();
    }
  } finally {
    await echo.stop();
    session.client.end();
    await host.close();
  }
}
