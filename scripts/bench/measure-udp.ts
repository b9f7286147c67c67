import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { percentile } from './stats.ts';

const PAYLOAD = Buffer.alloc(64, 0x75);

function now(): number {
  return Number(process.hrtime.bigint()) / 1000;
}

async function bound(port: number): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  s.connect(port, '127.0.0.1');
  await once(s, 'connect');
  return s;
}

/** `count` 64-byte datagram round trips through a mirrored UDP echo port: p50/p99 in microseconds, lost count. */
export async function udpRoundTrips(port: number, count: number): Promise<{ p50: number; p99: number; lost: number }> {
  const s = await bound(port);
  const us: number[] = [];
  let lost = 0;
  try {
    for (let i = 0; i < count + 20; i++) {
      const t0 = now();
      const reply = once(s, 'message');
      s.send(PAYLOAD);
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 1000).unref());
      if ((await Promise.race([reply, timer])) === 'timeout') {
        lost++;
        continue;
      }
      if (i >= 20) us.push(now() - t0);
    }
  } finally {
    s.close();
  }
  return { p50: percentile(us, 50), p99: percentile(us, 99), lost };
}

/**
 * Echoed 64-byte (or `size`-byte) datagrams per second over `ms`, keeping at most `inFlight` unanswered (a stall
 * of 20 ms counts the missing ones as lost and refills the window); resolves with the rate and the loss in %.
 */
export async function udpRate(
  port: number,
  ms: number,
  inFlight = 256,
  size = PAYLOAD.length,
): Promise<{ rate: number; lossPct: number }> {
  const payload = size === PAYLOAD.length ? PAYLOAD : Buffer.alloc(size, 0x5a);
  const s = await bound(port);
  let sent = 0;
  let received = 0;
  let written = 0; // sent - written off as lost
  let lastReply = performance.now();
  s.on('message', () => {
    received++;
    lastReply = performance.now();
  });
  const t0 = performance.now();
  try {
    while (performance.now() - t0 < ms) {
      if (performance.now() - lastReply > 20) {
        written = sent - received;
        lastReply = performance.now();
      }
      while (sent - received - written < inFlight) {
        s.send(payload);
        sent++;
      }
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 100)); // late replies still count
  } finally {
    s.close();
  }
  const secs = (performance.now() - t0 - 100) / 1000;
  return { rate: received / secs, lossPct: sent ? ((sent - received) / sent) * 100 : 0 };
}
