// QUIC class benchmark on loopback: one stream, host side here, agent side (scripts/bench-quic-peer.ts) in its own
// process as deployed. Used by `npm run bench` (row quic-stream) and `npm run bench:transport -- --only quic`.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Transport } from '@port-linker/transport';
import { connectQuicTransport, generateQuicIdentity, type QuicTuning } from '@port-linker/transport/quic';
import { percentile } from './stats.ts';

const PEER = join(import.meta.dirname, '..', 'bench-quic-peer.ts');

/** QUIC tuning that fixes the UDP payload size both ways (quiche sends min(own send, peer's receive limit)). */
export function packetSize(n: number): QuicTuning {
  return { maxSendUdpPayloadSize: n, maxRecvUdpPayloadSize: n };
}

/** 200 one-byte round trips through an echoing transport, in ms each. */
export async function echoRoundTrips(t: Transport): Promise<number[]> {
  const rtt: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      t.once('data', () => resolve());
      t.send(Uint8Array.of(0xee));
    });
    rtt.push(performance.now() - t0);
  }
  return rtt;
}

interface PeerReport {
  received: number;
  cpuMs: number;
  sent: number;
  recv: number;
}
interface SenderStats {
  sent: number;
  lost: number;
  cwnd: number;
  rtt: number;
}

/**
 * Host -> agent bulk over one QUIC stream for `seconds`, the agent side in its own process: MiB/s received by the
 * agent, 1-byte echo round trip p50/p99 (ms) and a line of CPU/packet detail. `profDir`: the peer writes a .cpuprofile.
 */
export async function quicTwoProcess(tuning: QuicTuning, chunk: number, seconds: number, profDir?: string) {
  const child = spawn(
    process.execPath,
    [...(profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []), '--import', 'tsx', PEER, JSON.stringify(tuning)],
    {
      stdio: ['pipe', 'pipe', 'inherit', 'ipc'],
    },
  );
  const [port, fp] = await new Promise<[number, string]>((resolve) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      const m = /ready (\d+) ([0-9a-f]+)/.exec(out);
      if (m) resolve([Number(m[1]), m[2] ?? '']);
    });
  });
  const hostId = await generateQuicIdentity('host');
  child.stdin?.write(`${Buffer.from(hostId.fingerprint).toString('hex')}\n`);
  let stats: (() => SenderStats) | undefined;
  const t = await connectQuicTransport({
    host: '127.0.0.1',
    port,
    fingerprint: Buffer.from(fp, 'hex'),
    identity: hostId,
    timeoutMs: 5000,
    tuning,
    onConnection: (c) => {
      const conn = (c as unknown as { conn: { stats(): SenderStats; pathStats(): SenderStats[] } }).conn;
      stats = () => ({ ...conn.stats(), cwnd: conn.pathStats()[0]?.cwnd ?? 0, rtt: conn.pathStats()[0]?.rtt ?? 0 });
    },
  });
  const rtt = await echoRoundTrips(t);
  const report = () =>
    new Promise<PeerReport>((resolve) => {
      child.once('message', (m: PeerReport) => resolve(m));
      child.send('report');
    });
  const base = await report();
  const s0 = stats?.();
  const cpu0 = process.cpuUsage();
  const data = new Uint8Array(chunk).fill(1);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    if (!t.send(data)) await new Promise((r) => t.once('drain', r));
  }
  const secs = (performance.now() - t0) / 1000;
  const last = await report();
  const cpu = process.cpuUsage(cpu0);
  const s1 = stats?.();
  const mibps = (last.received - base.received) / secs / 1048576;
  t.close();
  child.send('exit');
  const pkts = s0 && s1 ? (s1.sent - s0.sent) / secs : 0;
  const extra =
    `host cpu ${(((cpu.user + cpu.system) / 1000 / secs) * 0.1).toFixed(0)}% agent cpu ` +
    `${((last.cpuMs - base.cpuMs) / secs / 10).toFixed(0)}%, ${pkts.toFixed(0)} pkt/s sent, ` +
    `${s0 && s1 ? s1.lost - s0.lost : 0} lost, cwnd ${s1?.cwnd ?? 0}`;
  return { mibps, p50: percentile(rtt, 50), p99: percentile(rtt, 99), extra };
}
