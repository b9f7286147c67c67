import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

const PAYLOAD = Buffer.alloc(64, 0x61);

function now(): number {
  return Number(process.hrtime.bigint()) / 1000; // microseconds
}

/** Reads exactly `n` bytes (accumulated) from a socket in flowing mode. */
function readN(sock: Socket, n: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const timer = setTimeout(() => done(new Error(`no ${n}-byte reply within ${timeoutMs} ms`)), timeoutMs);
    const onData = (d: Buffer) => {
      got += d.length;
      if (got >= n) done();
    };
    const onEnd = () => done(new Error('connection closed before the reply'));
    const done = (err?: Error) => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('end', onEnd);
      sock.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    sock.on('data', onData);
    sock.once('end', onEnd);
    sock.once('error', done);
  });
}

/** Opens a connection ready for the echo exchange: a plain connect, or one through a proxy (socks-probe.ts). */
export type Dial = (timeoutMs: number) => Promise<Socket>;

/** Reads exactly `n` bytes and returns them (for handshakes; the echo exchange only counts). */
export function readBytes(sock: Socket, n: number, timeoutMs: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const collect = (d: Buffer) => chunks.push(d);
  sock.on('data', collect);
  return readN(sock, n, timeoutMs).then(
    () => {
      sock.off('data', collect);
      const all = Buffer.concat(chunks);
      if (all.length > n) sock.unshift(all.subarray(n));
      return all.subarray(0, n);
    },
    (err: unknown) => {
      sock.off('data', collect);
      throw err;
    },
  );
}

/** A plain TCP connection to 127.0.0.1:port. */
export async function open(port: number, timeoutMs = 10_000): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1', noDelay: true });
  const timer = setTimeout(() => s.destroy(new Error(`connect to 127.0.0.1:${port} timed out`)), timeoutMs);
  try {
    await once(s, 'connect');
  } catch (err) {
    s.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return s;
}

/** `count` 64-byte request/response round trips on one connection to an echo port; microseconds each. */
export async function roundTrips(port: number, count: number): Promise<number[]> {
  const s = await open(port);
  const out: number[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      const r = readN(s, 64, 5000);
      s.write(PAYLOAD);
      await r;
    }
    for (let i = 0; i < count; i++) {
      const t0 = now();
      const r = readN(s, 64, 5000);
      s.write(PAYLOAD);
      await r;
      out.push(now() - t0);
    }
  } finally {
    s.destroy();
  }
  return out;
}

/** One new connection (to an echo port, or dialled): connect, one 64-byte round trip, close; microseconds. */
export async function oneConnection(port: number | Dial, timeoutMs = 10_000): Promise<number> {
  const t0 = now();
  const s = typeof port === 'number' ? await open(port, timeoutMs) : await port(timeoutMs);
  try {
    const r = readN(s, 64, timeoutMs);
    s.write(PAYLOAD);
    await r;
  } finally {
    s.destroy();
  }
  return now() - t0;
}

/** `count` sequential new connections; microseconds each. */
export async function sequentialConnections(port: number | Dial, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(await oneConnection(port));
  return out;
}

/** Polls until one connection + round trip to `port` works; resolves with the time (ms, Date.now()) it did. */
export async function waitUsable(
  port: number | Dial,
  timeoutMs: number,
  isDead?: () => string | undefined,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await oneConnection(port, 2000);
      return performance.now();
    } catch (err) {
      const dead = isDead?.();
      if (dead) throw new Error(dead);
      const what = typeof port === 'number' ? `127.0.0.1:${port}` : 'the proxied echo port';
      if (Date.now() > deadline) throw new Error(`${what} not usable within ${timeoutMs} ms: ${err}`);
      await new Promise((r) => setTimeout(r, 3));
    }
  }
}

/** Opens `count` connections at once, one round trip each, then closes all; resolves with the failure count. */
export async function concurrentConnections(port: number, count: number, timeoutMs = 30_000): Promise<number> {
  const socks: Socket[] = [];
  const results = await Promise.allSettled(
    Array.from({ length: count }, async () => {
      const s = await open(port, timeoutMs);
      socks.push(s);
      const r = readN(s, 64, timeoutMs);
      s.write(PAYLOAD);
      await r;
    }),
  );
  for (const s of socks) s.destroy();
  return results.filter((r) => r.status === 'rejected').length;
}
