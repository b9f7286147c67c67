import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { connect, createServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { test } from 'node:test';
import { MuxStream, startDirectServer } from '@port-linker/datapath';
import type { AgentLink } from '@port-linker/deploy';
import type { Message } from '@port-linker/proto';
import type { SshConnection } from '@port-linker/ssh';
import { DataPath } from './data-path.ts';
import type { EventFields } from './events.ts';

/** An agent link stand-in that answers DataPathRequest with a real listener's offer. */
function fakeLink(offer: () => Promise<Message>): AgentLink {
  const link = new EventEmitter() as EventEmitter & { info: unknown; send(m: Message): void };
  link.info = { capabilities: ['datapath'] };
  link.send = (m) => {
    if (m.type === 'DataPathRequest') void offer().then((o) => link.emit('message', o));
  };
  return link as unknown as AgentLink;
}

/** A connection stand-in whose "SSH channels" are plain TCP connections here, counted. */
function fakeConn(): { conn: SshConnection; channels: () => number } {
  let n = 0;
  const conn = {
    remoteAddress: '127.0.0.1',
    forwardOut: (host: string, port: number): Promise<Duplex> => {
      n++;
      const s = connect({ host, port });
      return once(s, 'connect').then(() => s);
    },
  };
  return { conn: conn as unknown as SshConnection, channels: () => n };
}

/** A TCP echo on 127.0.0.1 (the service behind the forwards). */
async function echoServer() {
  const echo = createServer((s) => s.pipe(s));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  return { echo, echoPort: (echo.address() as { port: number }).port };
}

test('DataPath direct: streams while the TLS session lives, SSH channels at once after it drops', async () => {
  const { echo, echoPort } = await echoServer();
  const agent = await startDirectServer('127.0.0.1');
  const events: EventFields['data_path'][] = [];
  const own: number[] = [];
  const log = { log() {}, warn() {}, info() {} } as never;
  const dp = new DataPath(
    'direct',
    { log },
    ((name: string, fields: EventFields['data_path']) => name === 'data_path' && events.push(fields)) as never,
    (p) => own.push(p),
  );
  const { conn, channels } = fakeConn();
  try {
    await dp.attach(
      conn,
      fakeLink(async () => ({
        type: 'DataPathOffer',
        port: agent.port,
        echoPort: agent.echoPort,
        key: agent.key,
        reason: '',
      })),
    );
    assert.equal(events[0]?.kind, 'direct', JSON.stringify(events));
    assert.deepEqual(own, [agent.port, agent.echoPort]);
    const probeChannels = channels(); // the SSH side of the measurement
    const dial = dp.dialer(conn);
    const s1 = await dial('127.0.0.1', echoPort);
    assert.ok(s1 instanceof MuxStream);
    s1.destroy();
    assert.equal(channels(), probeChannels, 'no SSH channel while direct');
    agent.close();
    for (let i = 0; i < 100 && dp.direct; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(dp.direct, false);
    const s2 = await dial('127.0.0.1', echoPort);
    assert.ok(s2 instanceof Socket, 'after the drop the next connection is an SSH channel');
    s2.destroy();
  } finally {
    dp.detach();
    agent.close();
    echo.close();
  }
});

test('DataPath: a direct session gone silent under a new connection asks for a link check, then is closed', async () => {
  const { echo, echoPort } = await echoServer();
  const agent = await startDirectServer('127.0.0.1');
  // a relay in front of the agent's listener that can stop passing bytes (a link down, no FIN)
  let frozen = false;
  const relay = createServer((inner) => {
    const outer = connect({ host: '127.0.0.1', port: agent.port });
    inner.on('data', (d) => frozen || outer.write(d));
    outer.on('data', (d) => frozen || inner.write(d));
    inner.on('error', () => outer.destroy());
    outer.on('error', () => inner.destroy());
    inner.on('close', () => outer.destroy());
    outer.on('close', () => inner.destroy());
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  const stalls: string[] = [];
  const log = { log() {}, warn() {}, info() {} } as never;
  const dp = new DataPath(
    'direct',
    { log },
    (() => {}) as never,
    () => {},
    (why) => stalls.push(why),
  );
  const { conn } = fakeConn();
  try {
    await dp.attach(
      conn,
      fakeLink(async () => ({
        type: 'DataPathOffer',
        port: (relay.address() as { port: number }).port,
        echoPort: agent.echoPort,
        key: agent.key,
        reason: '',
      })),
    );
    assert.equal(dp.direct, true);
    const dial = dp.dialer(conn);
    // an idle session: the PING of a new connection is answered, nothing happens
    await new Promise((r) => setTimeout(r, 1100));
    (await dial('127.0.0.1', echoPort)).destroy();
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(stalls, []);
    assert.equal(dp.direct, true);
    frozen = true;
    await new Promise((r) => setTimeout(r, 1100));
    const t0 = performance.now();
    const stuck = await dial('127.0.0.1', echoPort);
    stuck.on('error', () => {}); // reset when the session goes
    for (let i = 0; i < 300 && stalls.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(stalls.length, 1, 'a link check asked for');
    for (let i = 0; i < 500 && dp.direct; i++) await new Promise((r) => setTimeout(r, 10));
    const ms = performance.now() - t0;
    assert.equal(dp.direct, false, 'the silent session closed');
    assert.ok(ms >= 2500 && ms < 4500, `closed after ${ms} ms`);
    assert.ok(stuck.destroyed, 'its stream reset with it');
  } finally {
    dp.detach();
    relay.close();
    agent.close();
    echo.close();
  }
});

test('DataPath: an offer that comes after the probe gave up still marks its ports as the agent’s own', async () => {
  const own: number[] = [];
  const events: EventFields['data_path'][] = [];
  const log = { log() {}, warn() {}, info() {} } as never;
  const dp = new DataPath(
    'direct',
    { log },
    ((name: string, fields: EventFields['data_path']) => name === 'data_path' && events.push(fields)) as never,
    (p) => own.push(p),
  );
  const { conn } = fakeConn();
  // a link that stalled right after the request: the offer arrives 5.3 s later, past the probe's 5 s
  const late = fakeLink(async () => {
    await new Promise((r) => setTimeout(r, 5300));
    return { type: 'DataPathOffer', port: 40001, echoPort: 40002, key: new Uint8Array(32), reason: '' };
  });
  await dp.attach(conn, late);
  assert.equal(events[0]?.kind, 'ssh');
  assert.match(String(events[0]?.reason), /did not offer a listener within 5 s/);
  for (let i = 0; i < 100 && own.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(own, [40001, 40002]);
  dp.detach();
});
