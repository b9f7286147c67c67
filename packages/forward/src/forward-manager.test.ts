import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type ConflictEvent, type ForwardAddedEvent, ForwardManager } from './forward-manager.ts';
import type { ForwardSpec } from './forward-spec.ts';
import type { Dialer } from './tcp-forward.ts';

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
