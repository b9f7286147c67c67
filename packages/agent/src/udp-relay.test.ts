import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import type { Message } from '@port-linker/proto';
import type { AgentContext } from './agent-feature.ts';
import { UdpRelay } from './udp-relay.ts';

async function echoServer() {
  const s = createSocket('udp4');
  s.on('message', (m, r) => s.send(m, r.port, r.address));
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

function context(sent: Message[], congested = () => false): AgentContext {
  return { send: (m) => void sent.push(m), log: () => {}, congested };
}

test('UdpRelay: one socket per client id, replies tagged with that id; idle flows expire', async () => {
  const echo = await echoServer();
  const port = echo.address().port;
  const relay = new UdpRelay(60_000);
  const sent: Message[] = [];
  const ctx = context(sent);
  relay.handle({ type: 'StartUdpForward', port, address: '127.0.0.1' }, ctx);
  relay.handle({ type: 'UdpPacket', srcPort: 1111, dstPort: port, id: 7, data: Buffer.from('a') }, ctx);
  relay.handle({ type: 'UdpPacket', srcPort: 2222, dstPort: port, id: 8, data: Buffer.from('b') }, ctx);
  await new Promise((r) => setTimeout(r, 200));
  const replies = sent.filter((m) => m.type === 'UdpPacket');
  assert.deepEqual(
    replies.map((m) => m.type === 'UdpPacket' && [m.id, m.srcPort, m.dstPort, Buffer.from(m.data).toString()]).sort(),
    [
      [7, port, 1111, 'a'],
      [8, port, 2222, 'b'],
    ],
  );
  assert.equal(relay.flows, 2);
  relay.expire(Date.now() + 120_000);
  assert.equal(relay.flows, 0);
  relay.close();
  echo.close();
});

test('UdpRelay: replies are dropped (counted) while the host link is congested; unknown ports are dropped', async () => {
  const echo = await echoServer();
  const port = echo.address().port;
  const relay = new UdpRelay();
  const sent: Message[] = [];
  const ctx = context(sent, () => true);
  relay.handle({ type: 'UdpPacket', srcPort: 1, dstPort: port, id: 1, data: Buffer.from('x') }, ctx);
  assert.equal(relay.dropped, 1, 'no StartUdpForward for that port');
  relay.handle({ type: 'StartUdpForward', port, address: '127.0.0.1' }, ctx);
  relay.handle({ type: 'UdpPacket', srcPort: 1, dstPort: port, id: 1, data: Buffer.from('x') }, ctx);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(sent.length, 0);
  assert.equal(relay.dropped, 2);
  relay.handle({ type: 'StopUdpForward', port }, ctx);
  assert.equal(relay.flows, 0);
  relay.close();
  echo.close();
});

/** Polls until `cond` holds, for at most 3 s (the connect callback's timing depends on the machine's load). */
async function settled(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
}

test('UdpRelay tells the agent when it opens or closes a socket of its own (the watch then rescans)', async () => {
  const echo = await echoServer();
  const port = echo.address().port;
  const relay = new UdpRelay(60_000);
  let changes = 0;
  const ctx: AgentContext = { ...context([]), socketsChanged: () => void changes++ };
  relay.handle({ type: 'StartUdpForward', port, address: '127.0.0.1' }, ctx);
  assert.equal(changes, 0, 'no socket yet');
  relay.handle({ type: 'UdpPacket', srcPort: 1, dstPort: port, id: 1, data: Buffer.from('x') }, ctx);
  await settled(() => changes === 1);
  assert.equal(changes, 1, 'a flow bound its ephemeral port');
  relay.handle({ type: 'StopUdpForward', port }, ctx);
  assert.equal(changes, 2, 'the flow closed with its forward');
  relay.handle({ type: 'StartUdpForward', port, address: '127.0.0.1' }, ctx);
  relay.handle({ type: 'UdpPacket', srcPort: 1, dstPort: port, id: 2, data: Buffer.from('y') }, ctx);
  await settled(() => changes === 3);
  relay.expire(Date.now() + 120_000);
  assert.equal(changes, 4, 'opened, then expired');
  relay.close();
  echo.close();
});
