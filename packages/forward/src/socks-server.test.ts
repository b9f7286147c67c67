import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import {
  type SocksDial,
  SocksError,
  type SocksRequestInfo,
  type SocksServeOptions,
  serveSocks,
} from './socks-server.ts';

const port = (server: Server): number => (server.address() as AddressInfo).port;

let echo: Server;
const echoSockets = new Set<Socket>();
before(async () => {
  echo = createServer({ allowHalfOpen: true }, (s) => {
    echoSockets.add(s);
    s.on('close', () => echoSockets.delete(s));
    s.pipe(s);
  });
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
});
after(() => {
  for (const s of echoSockets) s.destroy();
  echo.close();
});

/** A dial that records what was asked and connects to the echo server whatever the name. */
function echoDial(): { dial: SocksDial; calls: Array<[string, number]> } {
  const calls: Array<[string, number]> = [];
  const dial: SocksDial = async (host, p) => {
    calls.push([host, p]);
    const s = connect(port(echo), '127.0.0.1');
    await once(s, 'connect');
    return s;
  };
  return { dial, calls };
}

interface Outcome {
  result?: { request: SocksRequestInfo; remote: Duplex };
  error?: unknown;
}

/** A SOCKS front: each accepted socket goes through serveSocks, then is piped to the dialed stream. */
async function socksFront(
  dial: SocksDial,
  options?: SocksServeOptions,
): Promise<{ port: number; outcome: () => Promise<Outcome>; close(): void }> {
  const outcomes: Array<Promise<Outcome>> = [];
  const sockets = new Set<Duplex>();
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    outcomes.push(
      serveSocks(sock, dial, options).then(
        (result) => {
          sock.on('error', () => {});
          result.remote.on('error', () => {});
          sockets.add(result.remote);
          sock.pipe(result.remote).pipe(sock);
          return { result };
        },
        (error: unknown) => ({ error }),
      ),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: port(server),
    outcome: async () => {
      while (outcomes.length === 0) await new Promise((r) => setTimeout(r, 2));
      return (await outcomes.shift()) as Outcome;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** A raw client that reads exactly n bytes on demand. */
class RawClient {
  readonly sock: Socket;
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  ended = false;
  constructor(p: number) {
    this.sock = connect(p, '127.0.0.1');
    this.sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    this.sock.on('error', () => {});
    this.sock.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }
  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }
  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.ended) throw new Error(`connection closed after ${this.buf.length} of ${n} bytes`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  /** Everything until the server closes. */
  async rest(): Promise<Buffer> {
    while (!this.ended) await new Promise<void>((r) => this.waiters.push(r));
    return this.buf;
  }
  write(bytes: number[] | Buffer): void {
    this.sock.write(Buffer.from(bytes));
  }
  close() {
    this.sock.destroy();
  }
}

const portBytes = (p: number) => [p >> 8, p & 0xff];
const GREETING = [0x05, 0x01, 0x00];
const OK5 = Buffer.from([0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
const socks5 = (cmd: number, atyp: number, addr: number[], p: number) => [
  0x05,
  cmd,
  0x00,
  atyp,
  ...addr,
  ...portBytes(p),
];
const domain = (name: string) => [name.length, ...Buffer.from(name)];

/** Runs one SOCKS5 CONNECT and checks data round-trips through the echo. */
async function socks5RoundTrip(atyp: number, addr: number[], want: [string, number]) {
  const { dial, calls } = echoDial();
  const front = await socksFront(dial);
  const c = new RawClient(front.port);
  try {
    c.write(GREETING);
    assert.deepEqual([...(await c.read(2))], [0x05, 0x00]);
    c.write(socks5(0x01, atyp, addr, want[1]));
    assert.deepEqual(await c.read(10), OK5);
    const o = await front.outcome();
    assert.deepEqual(o.result?.request, { version: 5, host: want[0], port: want[1] });
    assert.deepEqual(calls, [want]);
    c.write(Buffer.from('ping over socks5'));
    assert.equal((await c.read(16)).toString(), 'ping over socks5');
  } finally {
    c.close();
    front.close();
  }
}

test('SOCKS5 CONNECT to an IPv4 literal: the dial gets the dotted quad, bytes round-trip', () =>
  socks5RoundTrip(0x01, [10, 1, 2, 3], ['10.1.2.3', 8080]));

test('SOCKS5 CONNECT to an IPv6 literal: compressed text without brackets', () =>
  socks5RoundTrip(0x04, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01], ['2001:db8::1', 443]));

test('SOCKS5 CONNECT to a domain: passed to the dial unresolved', () =>
  socks5RoundTrip(0x03, domain('db.internal.example'), ['db.internal.example', 5432]));

test('SOCKS4 CONNECT: reply 0x5A, bytes round-trip', async () => {
  const { dial, calls } = echoDial();
  const front = await socksFront(dial);
  const c = new RawClient(front.port);
  try {
    c.write([0x04, 0x01, ...portBytes(22), 192, 168, 1, 9, ...Buffer.from('alice'), 0]);
    assert.deepEqual([...(await c.read(8))], [0x00, 0x5a, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(calls, [['192.168.1.9', 22]]);
    assert.deepEqual((await front.outcome()).result?.request, { version: 4, host: '192.168.1.9', port: 22 });
    c.write(Buffer.from('v4'));
    assert.equal((await c.read(2)).toString(), 'v4');
  } finally {
    c.close();
    front.close();
  }
});

test('SOCKS4a CONNECT: DSTIP 0.0.0.x, the domain after the user id reaches the dial', async () => {
  const { dial, calls } = echoDial();
  const front = await socksFront(dial);
  const c = new RawClient(front.port);
  try {
    c.write([0x04, 0x01, ...portBytes(80), 0, 0, 0, 1, ...Buffer.from('bob'), 0, ...Buffer.from('web.example'), 0]);
    assert.deepEqual([...(await c.read(8))], [0x00, 0x5a, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(calls, [['web.example', 80]]);
    assert.equal((await front.outcome()).result?.request.host, 'web.example');
  } finally {
    c.close();
    front.close();
  }
});

test('a handshake delivered one byte at a time (SOCKS5 domain, then SOCKS4a)', async () => {
  const { dial, calls } = echoDial();
  const front = await socksFront(dial);
  const bytes5 = [...GREETING, ...socks5(0x01, 0x03, domain('slow.example'), 9000)];
  const bytes4a = [0x04, 0x01, ...portBytes(81), 0, 0, 0, 7, 0, ...Buffer.from('slow4a'), 0];
  try {
    for (const bytes of [bytes5, bytes4a]) {
      const c = new RawClient(front.port);
      c.sock.setNoDelay(true);
      for (const b of bytes) {
        c.write([b]);
        await new Promise((r) => setTimeout(r, 2));
      }
      if (bytes === bytes5) {
        assert.deepEqual([...(await c.read(2))], [0x05, 0x00]);
        assert.deepEqual(await c.read(10), OK5);
      } else {
        assert.deepEqual([...(await c.read(8))], [0x00, 0x5a, 0, 0, 0, 0, 0, 0]);
      }
      assert.ok((await front.outcome()).result);
      c.write(Buffer.from('after'));
      assert.equal((await c.read(5)).toString(), 'after');
      c.close();
    }
    assert.deepEqual(calls, [
      ['slow.example', 9000],
      ['slow4a', 81],
    ]);
  } finally {
    front.close();
  }
});

test('data pipelined with the greeting and request in one write reaches the far side (no byte lost)', async () => {
  const { dial } = echoDial();
  const front = await socksFront(dial);
  const c = new RawClient(front.port);
  try {
    const payload = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    c.write(Buffer.concat([Buffer.from([...GREETING, ...socks5(0x01, 0x01, [127, 0, 0, 1], 80)]), payload]));
    assert.deepEqual([...(await c.read(2))], [0x05, 0x00]);
    assert.deepEqual(await c.read(10), OK5);
    assert.deepEqual(await c.read(payload.length), payload);
    // SOCKS4 with pipelined data and a FIN right behind it
    const c4 = new RawClient(front.port);
    c4.sock.end(Buffer.from([0x04, 0x01, 0, 80, 1, 2, 3, 4, 0, ...Buffer.from('tail data')]));
    assert.deepEqual([...(await c4.read(8))], [0x00, 0x5a, 0, 0, 0, 0, 0, 0]);
    assert.equal((await c4.rest()).toString(), 'tail data');
  } finally {
    c.close();
    front.close();
  }
});

/** Sends `bytes`, expects `reply` then the server closing, and a SocksError matching `message`. */
async function expectRefusal(dial: SocksDial, bytes: number[], reply: number[], message: RegExp) {
  const front = await socksFront(dial);
  const c = new RawClient(front.port);
  try {
    c.write(bytes);
    assert.deepEqual([...(await c.rest())], reply);
    const o = await front.outcome();
    assert.ok(o.error instanceof SocksError, `rejected with a SocksError, got ${String(o.error)}`);
    assert.match(o.error.message, message);
    assert.ok(!o.error.message.includes('\n'), 'one line');
  } finally {
    c.close();
    front.close();
  }
}

const fail5 = (rep: number) => [0x05, rep, 0x00, 0x01, 0, 0, 0, 0, 0, 0];
const neverDial: SocksDial = () => Promise.reject(new Error('dial must not be called'));

test('SOCKS5 BIND and UDP ASSOCIATE are refused with 0x07 (command not supported)', async () => {
  await expectRefusal(
    neverDial,
    [...GREETING, ...socks5(0x02, 0x01, [1, 2, 3, 4], 80)],
    [0x05, 0x00, ...fail5(0x07)],
    /^SOCKS5 command BIND \(2\) is not supported: only CONNECT$/,
  );
  await expectRefusal(
    neverDial,
    [...GREETING, ...socks5(0x03, 0x01, [0, 0, 0, 0], 0)],
    [0x05, 0x00, ...fail5(0x07)],
    /^SOCKS5 command UDP ASSOCIATE \(3\) is not supported: only CONNECT$/,
  );
});

test('SOCKS5 unknown address type is refused with 0x08', () =>
  expectRefusal(
    neverDial,
    [...GREETING, 0x05, 0x01, 0x00, 0x09, 1, 2, 3, 4, 0, 80],
    [0x05, 0x00, ...fail5(0x08)],
    /address type 0x09 is not supported/,
  ));

test('SOCKS5 client without the no-auth method gets 0xFF (no acceptable methods)', () =>
  expectRefusal(neverDial, [0x05, 0x02, 0x01, 0x02], [0x05, 0xff], /no acceptable authentication method.*0x01, 0x02/));

test('dial failures map to SOCKS5 0x05 / 0x02 / 0x04 and carry the dial error message', async () => {
  const cases: Array<[string, number]> = [
    ['connect failed: Connection refused', 0x05],
    ['connect ECONNREFUSED 10.0.0.1:80', 0x05],
    ['administratively prohibited: open failed', 0x02],
    ['getaddrinfo ENOTFOUND nowhere.example', 0x04],
  ];
  for (const [msg, rep] of cases) {
    const dial: SocksDial = async () => {
      throw new Error(msg);
    };
    const escaped = msg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await expectRefusal(
      dial,
      [...GREETING, ...socks5(0x01, 0x03, domain('x.example'), 80)],
      [0x05, 0x00, ...fail5(rep)],
      new RegExp(`^${escaped}$`),
    );
  }
});

test('SOCKS4 failures reply 0x5B: a failed dial, BIND, an over-long user id', async () => {
  const rejected = [0x00, 0x5b, 0, 0, 0, 0, 0, 0];
  const refused: SocksDial = async () => {
    throw new Error('connect failed');
  };
  await expectRefusal(refused, [0x04, 0x01, 0, 80, 1, 2, 3, 4, 0], rejected, /^connect failed$/);
  await expectRefusal(neverDial, [0x04, 0x02, 0, 80, 1, 2, 3, 4, 0], rejected, /SOCKS4 command BIND \(2\)/);
  await expectRefusal(
    neverDial,
    [0x04, 0x01, 0, 80, 1, 2, 3, 4, ...Buffer.alloc(300, 0x61)],
    rejected,
    /user id is longer than 255 bytes/,
  );
});

test('an HTTP client pointed at the SOCKS port gets a one-line hint and a close', () =>
  expectRefusal(
    neverDial,
    [...Buffer.from('GET / HTTP/1.1\r\n\r\n')],
    [],
    /^not a SOCKS request \(first byte 0x47\): is this an HTTP client\? use it as a SOCKS proxy, e\.g\. curl --socks5-hostname$/,
  ));

test('a truncated handshake followed by a close rejects and destroys the client', async () => {
  const front = await socksFront(neverDial);
  const c = new RawClient(front.port);
  try {
    c.write([...GREETING, 0x05, 0x01]);
    assert.deepEqual([...(await c.read(2))], [0x05, 0x00]);
    c.sock.end();
    const o = await front.outcome();
    assert.ok(o.error instanceof SocksError);
    assert.match(o.error.message, /closed the connection before completing its request/);
    await c.rest();
  } finally {
    c.close();
    front.close();
  }
});

test('a client that stalls mid-handshake is ended after handshakeTimeoutMs', async () => {
  const front = await socksFront(neverDial, { handshakeTimeoutMs: 50 });
  const c = new RawClient(front.port);
  try {
    const t0 = Date.now();
    c.write([0x05]);
    const o = await front.outcome();
    assert.ok(o.error instanceof SocksError);
    assert.match(o.error.message, /did not complete its request within 50 ms/);
    await c.rest();
    assert.ok(Date.now() - t0 >= 40, 'waited for the timeout');
  } finally {
    c.close();
    front.close();
  }
});

test('no listener is left on the client after success, or after a refusal once the client has closed', async () => {
  const { dial } = echoDial();
  const events = ['readable', 'data', 'end', 'error', 'close'];
  const checks: Array<Promise<void>> = [];
  const server = createServer((sock) => {
    const before = events.map((e) => sock.listenerCount(e));
    const counts = () => events.map((e) => sock.listenerCount(e));
    checks.push(
      serveSocks(sock, dial).then(
        ({ remote }) => {
          assert.deepEqual(counts(), before);
          remote.destroy();
          sock.destroy();
        },
        async () => {
          if (!sock.destroyed) await once(sock, 'close');
          await new Promise((r) => setImmediate(r));
          assert.deepEqual(counts(), before);
        },
      ),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const ok = new RawClient(port(server));
  ok.write([...GREETING, ...socks5(0x01, 0x01, [127, 0, 0, 1], 1)]);
  const bad = new RawClient(port(server));
  bad.write([...GREETING, ...socks5(0x02, 0x01, [127, 0, 0, 1], 1)]);
  await Promise.all([ok.rest(), bad.rest()]);
  while (checks.length < 2) await new Promise((r) => setTimeout(r, 2));
  await Promise.all(checks);
  server.close();
});

test('a client destroyed while the dial is in flight: rejected at once, the late stream destroyed', async () => {
  let late: Socket | undefined;
  const slowDial: SocksDial = async () => {
    await new Promise((r) => setTimeout(r, 50));
    late = connect(port(echo), '127.0.0.1');
    await once(late, 'connect');
    return late;
  };
  let outcome: Promise<unknown> | undefined;
  const server = createServer((sock) => {
    outcome = serveSocks(sock, slowDial).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    setTimeout(() => sock.destroy(), 10); // e.g. the forward is being removed
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const c = new RawClient(port(server));
  try {
    c.write([0x04, 0x01, 0, 80, 1, 2, 3, 4, 0]);
    while (!outcome) await new Promise((r) => setTimeout(r, 2));
    const t0 = Date.now();
    const err = await outcome;
    assert.ok(Date.now() - t0 < 45, 'did not wait for the dial');
    assert.ok(err instanceof SocksError);
    assert.match(err.message, /^SOCKS client connection closed while its destination was being dialed$/);
    assert.deepEqual(err.request, { version: 4, host: '1.2.3.4', port: 80 });
    while (!late?.destroyed) await new Promise((r) => setTimeout(r, 5));
  } finally {
    c.close();
    server.close();
  }
});

const hasCurl = await promisify(execFile)('curl', ['--version']).then(
  () => true,
  () => false,
);

test('curl --socks5-hostname and --socks4a through serveSocks: the name reaches the dial unresolved', {
  skip: hasCurl ? false : 'curl is not on PATH',
}, async () => {
  const http = createHttpServer((_req, res) => res.end('hello through socks'));
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const calls: Array<[string, number]> = [];
  const dial: SocksDial = async (host, p) => {
    calls.push([host, p]);
    const s = connect((http.address() as AddressInfo).port, '127.0.0.1');
    await once(s, 'connect');
    return s;
  };
  const front = await socksFront(dial);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  try {
    for (const flag of ['--socks5-hostname', '--socks4a']) {
      const { stdout } = await promisify(execFile)(
        'curl',
        ['-sS', '--max-time', '10', flag, `127.0.0.1:${front.port}`, 'http://example.invalid/'],
        { env },
      );
      assert.equal(stdout, 'hello through socks', flag);
    }
    assert.deepEqual(calls, [
      ['example.invalid', 80],
      ['example.invalid', 80],
    ]);
  } finally {
    front.close();
    http.close();
  }
});
