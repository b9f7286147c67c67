import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Duplex, duplexPair } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { parseRemoteForward } from '@port-linker/forward';
import type { ForwardedConnection, SshConnection } from '@port-linker/ssh';
import type { EventFields, HostEmitter } from './events.ts';
import { RemoteForwards } from './remote-forwards.ts';

/**
 * A stand-in for SshConnection: just the remote-forward requests and the 'forwarded' event. `answer` decides each
 * tcpip-forward request (a bound port or a refusal); every request is recorded.
 */
class FakeConnection extends EventEmitter {
  readonly requests: string[] = [];
  /** A bound port, a refusal, or a promise of a port (an answer that is still on its way). */
  answer: (bind: string, port: number) => number | Error | Promise<number> = (_b, port) => port;
  answerUnix: (path: string) => Error | undefined = () => undefined;

  async forwardIn(bind: string, port: number): Promise<number> {
    this.requests.push(`${bind}:${port}`);
    const a = await this.answer(bind, port);
    if (a instanceof Error) throw a;
    return a;
  }

  async unforwardIn(bind: string, port: number): Promise<void> {
    this.requests.push(`cancel ${bind}:${port}`);
  }

  async forwardInUnix(path: string): Promise<void> {
    this.requests.push(path);
    const err = this.answerUnix(path);
    if (err) throw err;
  }

  /**
   * The server sends a connection back, as SshConnection emits it. The channel is one end of a duplex pair: `near`
   * is what accept() hands to the class, `far` the remote client's side (set once accepted); `rejected` when refused.
   * (A destroyed end does not destroy its pair: a cut channel shows on `near`.)
   */
  incoming(where: { port: number; address?: string } | { path: string }): {
    near: Duplex;
    far?: Duplex;
    rejected: boolean;
  } {
    const [near, far] = duplexPair({ allowHalfOpen: true });
    const out: { near: Duplex; far?: Duplex; rejected: boolean } = { near, rejected: false };
    const c: ForwardedConnection = {
      kind: 'path' in where ? 'unix' : 'tcp',
      destAddress: 'path' in where ? '' : (where.address ?? 'localhost'),
      destPort: 'path' in where ? 0 : where.port,
      socketPath: 'path' in where ? where.path : '',
      srcAddress: 'path' in where ? '' : '203.0.113.5',
      accept: () => {
        out.far = far;
        return near;
      },
      reject: () => {
        out.rejected = true;
      },
    };
    this.emit('forwarded', c);
    return out;
  }
}

type Emitted = { [K in keyof EventFields]: [K, EventFields[K]] }[keyof EventFields];

function setup(texts: string[]) {
  const events: Emitted[] = [];
  const emit = ((event, fields) => void events.push([event, fields] as Emitted)) as HostEmitter;
  const warnings: string[] = [];
  const log = { log() {}, info() {}, error() {}, warn: (m: string) => void warnings.push(m) };
  const rf = new RemoteForwards(texts.map(parseRemoteForward), { log, emit });
  const conn = new FakeConnection();
  const asConn = conn as unknown as SshConnection;
  const named = <K extends keyof EventFields>(name: K): EventFields[K][] =>
    events.flatMap(([e, f]) => (e === name ? [f as EventFields[K]] : []));
  return { rf, conn, asConn, events, named, warnings };
}

/** Sends `data` into a channel end, half-closes, and collects what comes back until the other side ends. */
async function exchange(far: Duplex, data: string): Promise<string> {
  const chunks: Buffer[] = [];
  far.on('data', (d: Buffer) => chunks.push(d));
  far.end(data);
  await once(far, 'end');
  return Buffer.concat(chunks).toString();
}

// The local targets: a TCP server that answers in upper case (half-close kept), and one that holds connections.
let upper: Server;
let upperPort = 0;
const held: Socket[] = [];
let holder: Server;
let holderPort = 0;
const dir = mkdtempSync(join(tmpdir(), 'pl-rfwd-'));
let unixTarget: Server;
const unixTargetPath = join(dir, 'target.sock');

before(async () => {
  upper = createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d: Buffer) => s.write(d.toString().toUpperCase()));
    s.on('end', () => s.end());
  }).listen(0, '127.0.0.1');
  await once(upper, 'listening');
  upperPort = (upper.address() as { port: number }).port;
  holder = createServer((s) => {
    held.push(s);
    s.on('error', () => {});
    s.resume();
  }).listen(0, '127.0.0.1');
  await once(holder, 'listening');
  holderPort = (holder.address() as { port: number }).port;
  unixTarget = createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d: Buffer) => s.write(`unix:${d}`));
    s.on('end', () => s.end());
  }).listen(unixTargetPath);
  await once(unixTarget, 'listening');
});
after(() => {
  upper.close();
  for (const s of held) s.destroy();
  holder.close();
  unixTarget.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('RemoteForwards', () => {
  test('establish asks for every forward and reports the server-assigned port for port 0', async () => {
    const { rf, conn, asConn, named } = setup(['0:localhost:3000', '9000:127.0.0.1:3001', '/run/app.sock:/tmp/a.sock']);
    conn.answer = (_b, port) => (port === 0 ? 43210 : port);
    await rf.establish(asConn);
    assert.deepEqual(conn.requests, ['localhost:0', 'localhost:9000', '/run/app.sock']);
    // the requests run in parallel: the events' order is the answers'
    const added = named('remote_forward_added').sort((a, b) => a.target.localeCompare(b.target));
    assert.deepEqual(added, [
      { bind_addr: '', remote_port: 0, requested_port: 0, remote_path: '/run/app.sock', target: '/tmp/a.sock' },
      { bind_addr: 'localhost', remote_port: 9000, requested_port: 9000, target: '127.0.0.1:3001' },
      { bind_addr: 'localhost', remote_port: 43210, requested_port: 0, target: 'localhost:3000' },
    ]);
    assert.deepEqual(rf.failures(), []);
    assert.equal(rf.size, 3);
    rf.close();
  });

  test('no forwards: establish sends nothing and does not listen for connections', async () => {
    const { rf, conn, asConn } = setup([]);
    await rf.establish(asConn);
    assert.deepEqual(conn.requests, []);
    assert.equal(conn.listenerCount('forwarded'), 0);
  });

  test('a refused forward is reported once, listed in failures(), and asked again after detach + establish', async () => {
    const { rf, conn, asConn, named } = setup(['9000:localhost:3000', '9001:localhost:3001']);
    conn.answer = (_b, port) => (port === 9000 ? new Error('listen on localhost:9000 on the remote: refused') : port);
    await rf.establish(asConn);
    assert.deepEqual(named('remote_forward_failed'), [
      {
        bind_addr: 'localhost',
        remote_port: 9000,
        target: 'localhost:3000',
        reason: 'listen on localhost:9000 on the remote: refused',
      },
    ]);
    assert.deepEqual(
      rf.failures().map((f) => [f.spec.key, f.reason]),
      [['remote/localhost:9000', 'listen on localhost:9000 on the remote: refused']],
    );
    assert.equal(named('remote_forward_added').length, 1, 'the other forward is up');
    rf.detach();
    assert.deepEqual(rf.failures(), [], 'detach forgets the failures with the connection');
    assert.equal(conn.listenerCount('forwarded'), 0, 'detach stops listening');
    conn.answer = (_b, port) => port;
    conn.requests.length = 0;
    await rf.establish(asConn);
    assert.deepEqual(conn.requests, ['localhost:9000', 'localhost:9001'], 'a new connection asks for all again');
    assert.deepEqual(rf.failures(), []);
    assert.deepEqual(
      named('remote_forward_added').map((f) => f.remote_port),
      [9001, 9000, 9001],
    );
    rf.close();
  });

  test('a refused forward is retried while connected, without a failed event per retry, until granted', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { rf, conn, asConn, named } = setup(['9000:localhost:3000']);
    conn.answer = () => new Error('refused');
    await rf.establish(asConn);
    assert.equal(conn.requests.length, 1);
    const settle = () => new Promise((r) => setImmediate(r));
    for (let i = 2; i <= 4; i++) {
      t.mock.timers.tick(5000);
      await settle();
      assert.equal(conn.requests.length, i, `retry ${i - 1}`);
    }
    assert.equal(named('remote_forward_failed').length, 1, 'one failed event, not one per retry');
    assert.equal(rf.failures().length, 1);
    conn.answer = (_b, port) => port;
    t.mock.timers.tick(5000);
    await settle();
    assert.deepEqual(
      named('remote_forward_added').map((f) => f.remote_port),
      [9000],
    );
    assert.deepEqual(rf.failures(), []);
    t.mock.timers.tick(60_000);
    await settle();
    assert.equal(conn.requests.length, 5, 'no retry once granted');
    rf.close();
  });

  test('a detached connection is not retried', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { rf, conn, asConn } = setup(['9000:localhost:3000']);
    conn.answer = () => new Error('refused');
    await rf.establish(asConn);
    rf.detach();
    t.mock.timers.tick(30_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(conn.requests.length, 1);
  });

  test('an incoming connection is piped to the local host:port target, both ways with half-close', async () => {
    const { rf, conn, asConn } = setup([`9000:127.0.0.1:${upperPort}`]);
    await rf.establish(asConn);
    const { far, rejected } = conn.incoming({ port: 9000 });
    assert.equal(rejected, false);
    assert.ok(far);
    assert.equal(await exchange(far, 'hello'), 'HELLO');
    rf.close();
  });

  test('port 0: connections arrive on the port the server picked and reach the target', async () => {
    const { rf, conn, asConn } = setup([`0:127.0.0.1:${upperPort}`]);
    conn.answer = () => 40001;
    await rf.establish(asConn);
    assert.equal(conn.incoming({ port: 0 }).rejected, true, 'not on the asked port 0');
    const { far } = conn.incoming({ port: 40001 });
    assert.ok(far);
    assert.equal(await exchange(far, 'picked'), 'PICKED');
    rf.close();
  });

  test('unix: a connection on the remote socket reaches the target; a port forward can target a local socket', async () => {
    const { rf, conn, asConn } = setup([`/run/remote.sock:127.0.0.1:${upperPort}`, `9002:${unixTargetPath}`]);
    await rf.establish(asConn);
    const viaPath = conn.incoming({ path: '/run/remote.sock' });
    assert.ok(viaPath.far);
    assert.equal(await exchange(viaPath.far, 'sock'), 'SOCK');
    const toPath = conn.incoming({ port: 9002 });
    assert.ok(toPath.far);
    assert.equal(await exchange(toPath.far, 'x'), 'unix:x');
    rf.close();
  });

  test('dynamic reverse (-R port alone): each connection is a SOCKS request answered from here', async () => {
    const { rf, conn, asConn } = setup(['9003']);
    await rf.establish(asConn);
    const { far } = conn.incoming({ port: 9003 });
    assert.ok(far);
    const chunks: Buffer[] = [];
    far.on('data', (d: Buffer) => chunks.push(d));
    // SOCKS4 CONNECT 127.0.0.1:upperPort, empty user id, then the payload pipelined
    const req = Buffer.from([4, 1, upperPort >> 8, upperPort & 0xff, 127, 0, 0, 1, 0]);
    far.write(req);
    while (Buffer.concat(chunks).length < 8) await once(far, 'data');
    assert.equal(Buffer.concat(chunks)[1], 0x5a, 'request granted');
    chunks.length = 0;
    far.end('socks');
    await once(far, 'end');
    assert.equal(Buffer.concat(chunks).toString(), 'SOCKS');
    rf.close();
  });

  test('a connection for no forward of ours is rejected; an unreachable target is warned about and cut', async () => {
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const deadPort = (closed.address() as { port: number }).port;
    closed.close();
    await once(closed, 'close');
    const { rf, conn, asConn, warnings } = setup([`9004:127.0.0.1:${deadPort}`]);
    await rf.establish(asConn);
    assert.equal(conn.incoming({ port: 9999 }).rejected, true);
    assert.equal(conn.incoming({ port: 9004, address: '0.0.0.0' }).rejected, true, 'the address must match too');
    const { near, far } = conn.incoming({ port: 9004 });
    assert.ok(far, 'accepted before the target is tried');
    await once(near, 'close');
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0] ?? '',
      new RegExp(`-R 9004:127.0.0.1:${deadPort}: cannot reach 127.0.0.1:${deadPort} here`),
    );
    rf.close();
  });

  test('after detach, connections from the old link are not taken', async () => {
    const { rf, conn, asConn } = setup([`9000:127.0.0.1:${upperPort}`]);
    await rf.establish(asConn);
    rf.detach();
    assert.equal(conn.listenerCount('forwarded'), 0);
    const other = new FakeConnection();
    await rf.establish(other as unknown as SshConnection);
    const { far, rejected } = other.incoming({ port: 9000 });
    assert.equal(rejected, false, 'the new link routes again');
    assert.ok(far);
    assert.equal(await exchange(far, 'again'), 'AGAIN');
    rf.close();
  });

  test('list() says where each forward stands: waiting, listening with the bound port, or refused with why', async () => {
    const { rf, conn, asConn } = setup(['0:localhost:3000', '9001:localhost:3001', '/run/app.sock:/tmp/a.sock']);
    assert.deepEqual(
      rf.list().map((f) => f.state),
      ['waiting', 'waiting', 'waiting'],
    );
    conn.answer = (_b, port) => (port === 0 ? 40002 : new Error('refused'));
    await rf.establish(asConn);
    assert.deepEqual(rf.list(), [
      {
        spec: '0:localhost:3000',
        bindAddress: 'localhost',
        requestedPort: 0,
        remotePort: 40002,
        target: 'localhost:3000',
        state: 'listening',
      },
      {
        spec: '9001:localhost:3001',
        bindAddress: 'localhost',
        requestedPort: 9001,
        target: 'localhost:3001',
        state: 'refused',
        reason: 'refused',
      },
      {
        spec: '/run/app.sock:/tmp/a.sock',
        bindAddress: '',
        requestedPort: 0,
        remotePath: '/run/app.sock',
        target: '/tmp/a.sock',
        state: 'listening',
      },
    ]);
    rf.detach();
    assert.deepEqual(
      rf.list().map((f) => f.state),
      ['waiting', 'waiting', 'waiting'],
      'nothing listens once the link is gone',
    );
    rf.close();
  });

  test('a grant that arrives after the link was detached is not taken as listening, nor routed', async () => {
    const { rf, conn, asConn, named } = setup([`9000:127.0.0.1:${upperPort}`]);
    let grant: (port: number) => void = () => {};
    conn.answer = () => new Promise<number>((resolve) => (grant = resolve));
    const asked = rf.establish(asConn);
    rf.detach();
    grant(9000);
    await asked;
    assert.deepEqual(named('remote_forward_added'), [], 'no event for a detached link');
    assert.deepEqual(
      rf.list().map((f) => f.state),
      ['waiting'],
    );
    // the next link refuses it: it must not look (or route) as if the old grant held
    const next = new FakeConnection();
    next.answer = () => new Error('refused');
    await rf.establish(next as unknown as SshConnection);
    assert.deepEqual(
      rf.list().map((f) => f.state),
      ['refused'],
    );
    assert.equal(next.incoming({ port: 9000 }).rejected, true);
    rf.close();
  });

  test('close() destroys the open connections to local targets, and their channels', async () => {
    const { rf, conn, asConn } = setup([`9005:127.0.0.1:${holderPort}`]);
    await rf.establish(asConn);
    const heldBefore = held.length;
    const { near, far } = conn.incoming({ port: 9005 });
    assert.ok(far);
    far.write('open');
    while (held.length === heldBefore) await new Promise((r) => setTimeout(r, 5));
    const target = held.at(-1);
    assert.ok(target);
    const targetClosed = once(target, 'close');
    const channelClosed = once(near, 'close');
    assert.equal(near.destroyed, false, 'open until close()');
    rf.close();
    await targetClosed;
    await channelClosed;
    assert.equal(conn.listenerCount('forwarded'), 0);
  });
});
