import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duplexPair } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { type ConflictEvent, type ForwardAddedEvent, ForwardManager } from './forward-manager.ts';
import { type ForwardSpec, parseLocalForward } from './forward-spec.ts';
import type { ForwardPlane, PlaneListener } from './plane-forward.ts';
import type { Dialer, UnixDialer } from './tcp-forward.ts';

// Unit tests: the "remote" is a local echo server and the dialer a plain TCP connect.
let echo: Server;
let echoPort = 0;
const dialTcp: Dialer = async (host, port) => {
  const s = connect({ host, port, allowHalfOpen: true });
  await once(s, 'connect');
  return s;
};

before(async () => {
  echo = createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  echoPort = (echo.address() as { port: number }).port;
});
after(() => echo.close());

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const p = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return p;
}

function spec(localPort: number, key = `auto/tcp/${localPort}`): ForwardSpec {
  return {
    key,
    origin: 'auto',
    protocol: 'tcp',
    remoteHost: '127.0.0.1',
    remotePort: echoPort,
    wantedLocalPort: localPort,
    bind: ['127.0.0.1'],
    process: 'echo',
  };
}

/** Sends `data`, half-closes, and collects everything until the far side closes. */
async function roundTrip(port: number, data: Buffer): Promise<Buffer> {
  const s: Socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  await once(s, 'connect');
  s.end(data);
  await once(s, 'end');
  s.destroy();
  return Buffer.concat(chunks);
}

describe('ForwardManager', () => {
  test('mirrors a port on the same local port; 1 MiB passes intact with half-close', async () => {
    const m = new ForwardManager({ conflict: 'remap' });
    m.setDialer(dialTcp);
    const port = await freePort();
    const added: ForwardAddedEvent[] = [];
    m.on('forward_added', (e) => added.push(e));
    await m.sync([spec(port)]);
    assert.equal(added[0]?.local_port, port);
    const data = randomBytes(1024 * 1024);
    assert.ok((await roundTrip(port, data)).equals(data));
    const stats = m.list()[0]?.stats;
    assert.equal(stats?.total, 1);
    await m.close();
  });

  test('remap: a busy local port gets a free one, kept when the remote port comes back', async () => {
    const port = await freePort();
    const squatter = createServer().listen(port, '127.0.0.1');
    await once(squatter, 'listening');
    const m = new ForwardManager({ conflict: 'remap' });
    m.setDialer(dialTcp);
    const conflicts: ConflictEvent[] = [];
    m.on('conflict', (e) => conflicts.push(e));
    await m.sync([spec(port)]);
    const remapped = m.localPortOf(`auto/tcp/${port}`);
    assert.equal(conflicts[0]?.action, 'remap');
    assert.equal(conflicts[0]?.wanted_local_port, port);
    assert.equal(conflicts[0]?.local_port, remapped);
    assert.notEqual(remapped, port);
    assert.ok((await roundTrip(remapped ?? 0, Buffer.from('hi'))).equals(Buffer.from('hi')));
    await m.sync([]);
    await m.sync([spec(port)]);
    assert.equal(m.localPortOf(`auto/tcp/${port}`), remapped, 'same local port for the session');
    await m.close();
    squatter.close();
  });

  test('skip: a busy local port is reported once and not forwarded', async () => {
    const port = await freePort();
    const squatter = createServer().listen(port, '127.0.0.1');
    await once(squatter, 'listening');
    const m = new ForwardManager({ conflict: 'skip' });
    const conflicts: ConflictEvent[] = [];
    m.on('conflict', (e) => conflicts.push(e));
    await m.sync([spec(port)]);
    await m.sync([spec(port)]);
    assert.deepEqual(
      conflicts.map((c) => c.action),
      ['skip'],
    );
    assert.equal(m.list().length, 0);
    await m.close();
    squatter.close();
  });

  test('require_local_port: a busy port is skipped even under remap, and a remembered remap is not used', async () => {
    const port = await freePort();
    const squatter = createServer().listen(port, '127.0.0.1');
    await once(squatter, 'listening');
    const memory = new Map<string, number>([[`auto/tcp/${port}`, await freePort()]]);
    const m = new ForwardManager({
      conflict: 'remap',
      memory: { get: (k) => memory.get(k), set: (k, v) => void memory.set(k, v) },
    });
    const conflicts: ConflictEvent[] = [];
    m.on('conflict', (e) => conflicts.push(e));
    await m.sync([{ ...spec(port), requireLocalPort: true, label: 'api' }]);
    assert.deepEqual(
      conflicts.map((c) => [c.action, c.wanted_local_port, c.reason]),
      [['skip', port, `local port ${port} is in use (require_local_port)`]],
    );
    assert.equal(m.list().length, 0, 'not forwarded on another port');
    squatter.close();
    await once(squatter, 'close');
    const other = await freePort();
    const added: ForwardAddedEvent[] = [];
    m.on('forward_added', (e) => added.push(e));
    await m.sync([{ ...spec(other), requireLocalPort: true, label: 'api' }]);
    assert.deepEqual(
      added.map((e) => [e.local_port, e.label]),
      [[other, 'api']],
    );
    await m.close();
  });

  test('a removed forward stops accepting at once but open connections finish', async () => {
    const m = new ForwardManager({ conflict: 'remap' });
    m.setDialer(dialTcp);
    const port = await freePort();
    await m.sync([spec(port)]);
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await once(s, 'connect');
    s.write('a');
    await once(s, 'data');
    const removed = once(m, 'forward_removed');
    await m.sync([]);
    assert.equal((await removed)[0].reason, 'remote_closed');
    const refused = connect({ port, host: '127.0.0.1' });
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNREFUSED');
    s.write('b');
    const [d] = (await once(s, 'data')) as [Buffer];
    assert.equal(d.toString(), 'b', 'the open connection still works');
    s.destroy();
    await m.close();
  });

  test('while reconnecting, a new connection waits for the dialer instead of failing', async () => {
    const m = new ForwardManager({ conflict: 'remap', dialWaitMs: 5000 });
    const port = await freePort();
    await m.sync([spec(port)]);
    const pending = roundTrip(port, Buffer.from('queued'));
    await new Promise((r) => setTimeout(r, 100));
    m.setDialer(dialTcp);
    assert.equal((await pending).toString(), 'queued');
    await m.close();
  });
});

describe('ForwardManager: Unix socket local forwards (-L /local.sock:...)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pl-fm-unix-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const sockPath = () => join(dir, `l${++n}.sock`);

  /** A unix dialer that records the paths asked for and answers with an echo stream. */
  function fakeUnixDialer(): { dial: UnixDialer; paths: string[] } {
    const paths: string[] = [];
    const dial: UnixDialer = async (path) => {
      paths.push(path);
      const [near, far] = duplexPair();
      far.on('data', (d: Buffer) => far.write(d));
      far.on('end', () => far.end());
      return near;
    };
    return { dial, paths };
  }
  /** A TCP dialer that must not be used. */
  const tcpCalls: string[] = [];
  const noTcp: Dialer = async (host, port) => {
    tcpCalls.push(`${host}:${port}`);
    throw new Error('the TCP dialer was used');
  };

  async function unixRoundTrip(path: string, data: string): Promise<string> {
    const s = connect({ path, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    await once(s, 'connect');
    s.end(data);
    await once(s, 'end');
    s.destroy();
    return Buffer.concat(chunks).toString();
  }

  test('a connection to the local socket reaches the unix dialer with the remote path; close removes the file', async () => {
    const local = sockPath();
    const m = new ForwardManager({ conflict: 'remap' });
    const unix = fakeUnixDialer();
    tcpCalls.length = 0;
    m.setDialer(noTcp, unix.dial);
    const added: ForwardAddedEvent[] = [];
    m.on('forward_added', (e) => added.push(e));
    const spec = parseLocalForward(`${local}:/var/run/docker.sock`);
    await m.sync([spec]);
    assert.equal(statSync(local).isSocket(), true);
    assert.equal(statSync(local).mode & 0o777, 0o600, 'default StreamLocalBindMask');
    assert.deepEqual(
      added.map((e) => [e.local_port, e.local_path, e.remote_path, e.type]),
      [[0, local, '/var/run/docker.sock', 'local']],
    );
    assert.equal(await unixRoundTrip(local, 'ping'), 'ping');
    assert.deepEqual(unix.paths, ['/var/run/docker.sock']);
    assert.deepEqual(tcpCalls, []);
    assert.equal(m.list()[0]?.stats.total, 1);
    await m.close();
    assert.equal(existsSync(local), false, 'the socket file is removed on close');
  });

  test('a local socket to host:port dials TCP on the remote; unixBind sets the file mode', async () => {
    const local = sockPath();
    const m = new ForwardManager({ conflict: 'remap', unixBind: { mask: 0o002 } });
    const unix = fakeUnixDialer();
    m.setDialer(dialTcp, unix.dial);
    await m.sync([parseLocalForward(`${local}:127.0.0.1:${echoPort}`)]);
    assert.equal(statSync(local).mode & 0o777, 0o664);
    assert.equal(await unixRoundTrip(local, 'over tcp'), 'over tcp');
    assert.deepEqual(unix.paths, [], 'no unix dial for a host:port target');
    await m.close();
    assert.equal(existsSync(local), false);
  });

  test('a local socket another process listens on is skipped with a conflict, and left to it', async () => {
    const local = sockPath();
    const squatter = createServer((c) => c.on('error', () => {}).end('squatter')).listen(local);
    await once(squatter, 'listening');
    const m = new ForwardManager({ conflict: 'remap' });
    const conflicts: ConflictEvent[] = [];
    m.on('conflict', (e) => conflicts.push(e));
    const spec = parseLocalForward(`${local}:/remote.sock`);
    await m.sync([spec]);
    await m.sync([spec]);
    assert.equal(conflicts.length, 1, 'reported once');
    assert.equal(conflicts[0]?.action, 'skip');
    assert.match(conflicts[0]?.reason ?? '', /StreamLocalBindUnlink=yes/);
    assert.equal(m.isSkipped(spec.key), true);
    assert.equal(m.list().length, 0);
    await m.close();
    assert.equal(await unixRoundTrip(local, ''), 'squatter', 'the other listener still owns the path');
    squatter.close();
  });

  test('without a unix dialer, a connection to a remote-socket forward is closed and counted as failed', async () => {
    const local = sockPath();
    const logs: string[] = [];
    const m = new ForwardManager({ conflict: 'remap', log: (_l, msg) => void logs.push(msg) });
    m.setDialer(dialTcp);
    await m.sync([parseLocalForward(`${local}:/remote.sock`)]);
    const s = connect(local);
    s.on('error', () => {});
    s.resume();
    await once(s, 'close');
    assert.equal(m.list()[0]?.stats.failed, 1);
    assert.deepEqual(logs, [`${local} -> /remote.sock: this link cannot open Unix sockets on the remote`]);
    await m.close();
  });
});

/**
 * A plane that listens in this process, but on its own servers, recording what it was asked (the real one is
 * OpenSSH's ControlMaster: test/openssh-plane.test.ts). `refuse` makes open() fail, as a master whose port is taken.
 */
function fakePlane(refuse = false) {
  const servers = new Map<string, Server>();
  const log: string[] = [];
  const key = (l: PlaneListener) => `${l.listenHost}:${l.listenPort}`;
  const plane: ForwardPlane = {
    name: 'fake',
    open: async (l) => {
      log.push(`open ${key(l)}->${l.connectHost}:${l.connectPort}`);
      if (refuse) throw new Error('Port forwarding failed');
      const s = createServer({ allowHalfOpen: true }, (c) => {
        const r = connect({ host: l.connectHost, port: l.connectPort, allowHalfOpen: true });
        c.pipe(r).pipe(c);
      });
      s.listen(l.listenPort, l.listenHost);
      await once(s, 'listening');
      servers.set(key(l), s);
    },
    close: async (l) => {
      log.push(`close ${key(l)}`);
      servers.get(key(l))?.close();
      servers.delete(key(l));
    },
  };
  /** The plane died: its listeners are gone. */
  const die = () => {
    for (const s of servers.values()) s.close();
    servers.clear();
  };
  return { plane, log, servers, die };
}

describe('ForwardManager with a plane holding the listeners', () => {
  test('a forward active before the plane is handed over on the same port; the plane gone, it is taken back', async () => {
    const m = new ForwardManager({ conflict: 'remap' });
    m.setDialer(dialTcp);
    const port = await freePort();
    await m.sync([spec(port)]);
    const { plane, log, servers, die } = fakePlane();
    await m.setPlane(plane);
    assert.deepEqual(log, [`open 127.0.0.1:${port}->127.0.0.1:${echoPort}`]);
    assert.equal(servers.size, 1);
    assert.equal(m.list()[0]?.plane, 'fake');
    const data = randomBytes(64 * 1024);
    assert.deepEqual(await roundTrip(port, data), data);
    die();
    await m.setPlane(undefined);
    assert.equal(m.list()[0]?.plane, undefined);
    assert.equal(m.localPortOf(spec(port).key), port);
    assert.deepEqual(await roundTrip(port, data), data);
    await m.close();
  });

  test('a plane let go while it still runs (auto chose another path): its ports come back here, the same numbers', async () => {
    const m = new ForwardManager({ conflict: 'remap' });
    m.setDialer(dialTcp);
    const port = await freePort();
    await m.sync([spec(port)]);
    const { plane, log, servers } = fakePlane();
    await m.setPlane(plane);
    const events: string[] = [];
    m.on('forward_added', (e) => events.push(`added ${e.local_port}`));
    m.on('forward_removed', (e) => events.push(`removed ${e.local_port}`));
    await m.setPlane(undefined);
    assert.deepEqual(log, [`open 127.0.0.1:${port}->127.0.0.1:${echoPort}`, `close 127.0.0.1:${port}`]);
    assert.equal(servers.size, 0);
    assert.deepEqual(events, [], 'the forward did not change: no events');
    assert.equal(m.list()[0]?.plane, undefined);
    assert.equal(m.localPortOf(spec(port).key), port);
    assert.deepEqual(await roundTrip(port, Buffer.from('back')), Buffer.from('back'));
    await m.close();
  });

  test('a forward added while the plane is set goes to the plane; removed, the plane is told', async () => {
    const m = new ForwardManager({ conflict: 'remap' });
    m.setDialer(dialTcp);
    const { plane, log } = fakePlane();
    await m.setPlane(plane);
    const port = await freePort();
    const added: ForwardAddedEvent[] = [];
    m.on('forward_added', (e) => added.push(e));
    await m.sync([spec(port)]);
    assert.equal(added.length, 1);
    assert.equal(added[0]?.local_port, port);
    assert.deepEqual(await roundTrip(port, Buffer.from('hi')), Buffer.from('hi'));
    await m.sync([]);
    assert.deepEqual(log, [`open 127.0.0.1:${port}->127.0.0.1:${echoPort}`, `close 127.0.0.1:${port}`]);
    await m.close();
  });

  test('a plane that refuses the port: this process keeps listening there itself', async () => {
    const m = new ForwardManager({ conflict: 'remap' });
    m.setDialer(dialTcp);
    await m.setPlane(fakePlane(true).plane);
    const port = await freePort();
    await m.sync([spec(port)]);
    assert.equal(m.list()[0]?.plane, undefined);
    assert.equal(m.localPortOf(spec(port).key), port);
    assert.deepEqual(await roundTrip(port, Buffer.from('still here')), Buffer.from('still here'));
    await m.close();
  });
});
