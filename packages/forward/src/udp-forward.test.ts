import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import type { MessageOf } from '@port-linker/proto';
import { ForwardManager } from './forward-manager.ts';
import type { ForwardSpec } from './forward-spec.ts';

// Unit test: the "agent" is a function that answers each UdpPacket with an upper-cased copy.
function udpSpec(port: number): ForwardSpec {
  return {
    key: `auto/udp/${port}`,
    origin: 'auto',
    protocol: 'udp',
    remoteHost: '127.0.0.1',
    remotePort: port,
    wantedLocalPort: 0,
    bind: ['127.0.0.1'],
    process: 'dns',
  };
}

async function client(): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

test('UDP: each local client gets only its own replies; a flood without a link is dropped and counted', async () => {
  const m = new ForwardManager({ conflict: 'remap' });
  const sent: Array<MessageOf<'UdpPacket'>> = [];
  m.setUdpSender((p) => {
    sent.push(p);
    setImmediate(() =>
      m.deliverUdp({
        ...p,
        srcPort: p.dstPort,
        dstPort: p.srcPort,
        data: Buffer.from(Buffer.from(p.data).toString().toUpperCase()),
      }),
    );
    return true;
  });
  await m.sync([udpSpec(5300)]);
  const port = m.localPortOf('auto/udp/5300') ?? 0;
  const [a, b] = [await client(), await client()];
  const got = { a: [] as string[], b: [] as string[] };
  a.on('message', (d) => got.a.push(d.toString()));
  b.on('message', (d) => got.b.push(d.toString()));
  for (let i = 0; i < 5; i++) {
    a.send(`aaa${i}`, port, '127.0.0.1');
    b.send(`bbb${i}`, port, '127.0.0.1');
  }
  const big = Buffer.alloc(60_000, 0x61);
  a.send(big, port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(got.b, ['BBB0', 'BBB1', 'BBB2', 'BBB3', 'BBB4']);
  assert.equal(got.a.length, 6);
  assert.equal(got.a[5], 'A'.repeat(60_000), 'a 60,000-byte datagram passes intact');
  assert.equal(new Set(sent.map((p) => p.id)).size, 2, 'one id per client');
  assert.ok(sent.every((p) => p.dstPort === 5300));

  m.setUdpSender(undefined);
  for (let i = 0; i < 50; i++) a.send('lost', port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(m.list()[0]?.stats.failed, 50);
  a.close();
  b.close();
  await m.close();
});
