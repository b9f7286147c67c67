import assert from 'node:assert/strict';
import { Duplex, duplexPair } from 'node:stream';
import { test } from 'node:test';
import { type SocksDial, SocksError, type SocksRequestInfo, serveSocks } from './socks-server.ts';

/** mulberry32: a small seeded PRNG, so a failure replays. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 0x50c45;
const ITERATIONS = 3000;
const TIMEOUT_MS = 20;
const EVENTS = ['readable', 'data', 'end', 'error', 'close'];

interface Case {
  bytes: Buffer;
  /** For an unmutated valid handshake: what it asks for and the pipelined bytes after it. */
  valid?: { request: SocksRequestInfo; trailer: Buffer };
}

function generate(r: () => number): Case {
  const int = (n: number) => Math.floor(r() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const label = () =>
    Array.from({ length: 1 + int(20) }, () => 'abcdefghijklmnopqrstuvwxyz0123456789.-'[int(38)]).join('');
  const trailer = bytes(int(4) === 0 ? 0 : int(64));
  const port = int(65536);
  let request: SocksRequestInfo;
  let hs: Buffer;
  if (r() < 0.55) {
    const methods = [...bytes(int(4)), 0x00].sort(() => r() - 0.5);
    const kind = int(3);
    let addr: Buffer;
    let host: string;
    if (kind === 0) {
      addr = Buffer.from([0x01, ...bytes(4)]);
      host = [...addr.subarray(1)].join('.');
    } else if (kind === 1) {
      host = label();
      addr = Buffer.from([0x03, host.length, ...Buffer.from(host)]);
    } else {
      const ip = Buffer.alloc(16);
      ip.writeUInt16BE(0x2001, 0);
      ip.writeUInt16BE(int(0x10000), 14);
      addr = Buffer.from([0x04, ...ip]);
      host = `2001::${ip.readUInt16BE(14).toString(16)}`;
      if (ip.readUInt16BE(14) === 0) host = '2001::';
    }
    hs = Buffer.from([0x05, methods.length, ...methods, 0x05, 0x01, 0x00, ...addr, port >> 8, port & 0xff]);
    request = { version: 5, host, port };
  } else {
    const user = Buffer.from(label().slice(0, int(10)));
    let ip = [...bytes(4)];
    let host: string;
    let tail = Buffer.alloc(0);
    if (r() < 0.5) {
      ip = [0, 0, 0, 1 + int(255)];
      host = label();
      tail = Buffer.from([...Buffer.from(host), 0]);
    } else {
      if (ip[0] === 0 && ip[1] === 0 && ip[2] === 0) ip[0] = 10;
      host = ip.join('.');
    }
    hs = Buffer.from([0x04, 0x01, port >> 8, port & 0xff, ...ip, ...user, 0, ...tail]);
    request = { version: 4, host, port };
  }
  const mode = r();
  if (mode < 0.35) return { bytes: Buffer.concat([hs, trailer]), valid: { request, trailer } };
  if (mode < 0.85) {
    // mutate: flip, insert, delete, or truncate a few times
    let b = [...Buffer.concat([hs, trailer])];
    for (let m = 1 + int(3); m > 0; m--) {
      const at = int(b.length + 1);
      const op = int(4);
      if (op === 0 && b.length > 0) b[at % b.length] = int(256);
      else if (op === 1) b.splice(at, 0, int(256));
      else if (op === 2) b.splice(at, 1);
      else b = b.slice(0, at);
    }
    return { bytes: Buffer.from(b) };
  }
  const junk = bytes(int(300));
  if (junk.length > 0 && r() < 0.7) junk[0] = r() < 0.5 ? 4 : 5;
  return { bytes: junk };
}

/** The dial: a stream (now or a little later), a rejection, or a synchronous throw. */
function makeDial(r: () => number, dialed: Duplex[], pending: Array<Promise<unknown>>): SocksDial {
  const pick = r();
  const messages = ['connect failed', 'ECONNREFUSED', 'administratively prohibited', 'no route', ''];
  return () => {
    if (pick < 0.05) throw new Error('sync throw');
    if (pick < 0.2) return Promise.reject(new Error(messages[Math.floor(r() * messages.length)]));
    const [near, far] = duplexPair();
    far.resume();
    near.once('close', () => far.destroy());
    dialed.push(near);
    if (pick < 0.6) return Promise.resolve(near);
    const later = new Promise<Duplex>((res) => setTimeout(() => res(near), Math.floor(r() * 5)));
    pending.push(later);
    return later;
  };
}

const tick = () => new Promise<void>((res) => setImmediate(res));

async function runOne(r: () => number, i: number): Promise<'resolved' | 'rejected'> {
  const c = generate(r);
  // the accepted side: the peer's bytes are pushed into it, what it writes is dropped (no internal listeners)
  const server = new Duplex({
    read() {},
    write(_chunk, _enc, cb) {
      cb();
    },
  });
  const peer = {
    write: (b: Buffer) => {
      if (!server.destroyed && !server.readableEnded) server.push(b);
    },
    end: () => {
      if (!server.destroyed) server.push(null);
    },
  };
  const dialed: Duplex[] = [];
  const pending: Array<Promise<unknown>> = [];
  const baseline = EVENTS.map((e) => server.listenerCount(e));
  const counts = () => EVENTS.map((e) => server.listenerCount(e));
  const result = serveSocks(server, makeDial(r, dialed, pending), { handshakeTimeoutMs: TIMEOUT_MS });
  let done = false; // once settled, errors on `server` are the caller's to handle, so the fuzz stops injecting them
  result.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );

  // deliver in random chunks, some synchronously, some on later turns; then end, error, or stall
  const ending = r();
  const deliver = (async () => {
    let pos = 0;
    while (pos < c.bytes.length) {
      const n = 1 + Math.floor(r() * (r() < 0.3 ? 3 : 40));
      peer.write(c.bytes.subarray(pos, pos + n));
      pos += n;
      if (r() < 0.3) await tick();
    }
    if (ending < 0.15) peer.end();
    else if (ending < 0.25 && !done) server.destroy(new Error('boom'));
  })();

  let guard: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    result.then(
      (v) => ({ ok: true as const, v }),
      (e: unknown) => ({ ok: false as const, e }),
    ),
    new Promise<'hung'>((res) => {
      guard = setTimeout(() => res('hung'), TIMEOUT_MS + 1000);
    }),
  ]);
  clearTimeout(guard);
  const where = `iteration ${i}, bytes ${c.bytes.toString('hex')}`;
  assert.notEqual(settled, 'hung', `serveSocks did not settle: ${where}`);
  if (settled === 'hung') return 'rejected';
  await deliver;

  if (settled.ok) {
    assert.deepEqual(counts(), baseline, `listeners left after resolve: ${where}`);
    assert.ok(dialed.includes(settled.v.remote));
    const { host, port, version } = settled.v.request;
    assert.ok(
      typeof host === 'string' && host.length > 0 && port >= 0 && port <= 65535 && (version === 4 || version === 5),
    );
    if (c.valid) {
      assert.deepEqual(settled.v.request, c.valid.request, where);
      if (!server.destroyed) {
        // the pipelined bytes come out of the client stream, none lost, none extra
        const got: Buffer[] = [];
        server.on('data', (d: Buffer) => got.push(d));
        if (!server.readableEnded && ending >= 0.15) peer.end();
        if (!server.readableEnded) await new Promise((res) => server.once('end', res));
        assert.deepEqual(Buffer.concat(got), c.valid.trailer, `trailer: ${where}`);
      }
    }
    server.destroy();
    for (const d of dialed) d.destroy();
    return 'resolved';
  }
  const err = settled.e;
  assert.ok(err instanceof SocksError, `rejected with ${String(err)}: ${where}`);
  assert.ok(!err.message.includes('\n'), `multi-line message: ${where}`);
  // a refused client is ended, then destroyed once the reply is flushed; our listeners go with the close
  if (!server.destroyed || server.listenerCount('close') > (baseline[4] ?? 0)) {
    await new Promise((res) => server.once('close', res));
  }
  await Promise.all(pending); // a dial that lands after the client left is destroyed on arrival
  await tick();
  assert.deepEqual(counts(), baseline, `listeners left after reject: ${where}`);
  for (const d of dialed) assert.ok(d.destroyed, `dialed stream left open: ${where}`);
  return 'rejected';
}

test(`fuzz: ${ITERATIONS} random and mutated handshakes in random chunkings all settle, cleanly`, async (t) => {
  const r = rng(SEED);
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  const tally = { resolved: 0, rejected: 0 };
  try {
    const batch = 250;
    for (let i = 0; i < ITERATIONS; i += batch) {
      // each run gets its own generator seeded from the main one, so concurrency does not change the inputs
      const runs = Array.from({ length: Math.min(batch, ITERATIONS - i) }, (_, k) =>
        runOne(rng(Math.floor(r() * 2 ** 32)), i + k),
      );
      for (const outcome of await Promise.all(runs)) tally[outcome]++;
    }
  } finally {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  }
  assert.deepEqual(unhandled, []);
  t.diagnostic(`seed ${SEED}: ${tally.resolved} resolved, ${tally.rejected} rejected with a SocksError`);
  assert.ok(tally.resolved > 300 && tally.rejected > 300, `both outcomes exercised: ${JSON.stringify(tally)}`);
});
