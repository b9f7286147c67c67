import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { encodeMessage, MessageDecoder } from '@port-linker/proto';
import { transportPlan } from './negotiate.ts';
import { acceptFrame, connectTcpTransport, TcpTransportServer } from './tcp-transport.ts';

describe('tcp transport', () => {
  test('a peer with the wrong secret is dropped and reported; the right one becomes a frame channel', async () => {
    const server = await TcpTransportServer.listen();
    const rejected: string[] = [];
    server.on('rejected', (why: string) => rejected.push(why));
    try {
      const bad = connect(server.port, '127.0.0.1');
      bad.on('data', () => {});
      bad.write(Buffer.alloc(32, 7));
      await once(bad, 'close');
      assert.deepEqual(rejected, ['wrong secret']);

      const peer = once(server, 'peer') as Promise<[Socket]>;
      const good = connect(server.port, '127.0.0.1');
      await once(good, 'connect');
      const hostSide = connectTcpTransport(good, server.secret, 2000);
      const [agentSide] = await peer;
      agentSide.write(acceptFrame('tcp'));
      agentSide.write(encodeMessage({ type: 'Pong', value: 9n }));
      const transport = await hostSide;
      const decoder = new MessageDecoder();
      const [pong] = await new Promise<ReturnType<MessageDecoder['push']>>((resolve) =>
        transport.on('data', (c: Uint8Array) => resolve(decoder.push(c))),
      );
      assert.deepEqual(pong, { type: 'Pong', value: 9n });
      transport.close();
      agentSide.destroy();
    } finally {
      server.close();
    }
  });

  test('a part of the secret tells nothing: a right and a wrong first byte are treated alike until all 32 are in', async () => {
    const server = await TcpTransportServer.listen();
    const rejected: string[] = [];
    server.on('rejected', (why: string) => rejected.push(why));
    const secret = Buffer.from(server.secret);
    try {
      const open = async (first: number) => {
        const s = connect(server.port, '127.0.0.1');
        s.on('data', () => {});
        s.on('error', () => {});
        await once(s, 'connect');
        s.write(Buffer.of(first));
        return s;
      };
      const right = await open(secret[0] as number);
      const wrong = await open((secret[0] as number) ^ 0xff);
      await new Promise((r) => setTimeout(r, 200));
      // an oracle would show here: the wrong guess dropped at once, the right one kept waiting
      assert.equal(wrong.destroyed || wrong.readableEnded, false, 'a wrong first byte is not dropped on its own');
      assert.deepEqual(rejected, []);
      const peer = once(server, 'peer');
      right.write(secret.subarray(1));
      wrong.write(secret.subarray(1));
      await peer;
      await once(wrong, 'close');
      assert.deepEqual(rejected, ['wrong secret']);
      right.destroy();
    } finally {
      server.close();
    }
  });

  test('the host gives up after its timeout when the agent never answers', async () => {
    const server = await TcpTransportServer.listen();
    try {
      const s = connect(server.port, '127.0.0.1');
      await once(s, 'connect');
      await assert.rejects(connectTcpTransport(s, server.secret, 200), /no answer from the agent within 200 ms/);
    } finally {
      server.close();
    }
  });

  test('plans: the asked-for transport first, fallback below it, stdio last', () => {
    const all = [
      { kind: 'quic', port: 1, fingerprint: new Uint8Array(32) },
      { kind: 'tcp', port: 2, secret: new Uint8Array(32) },
      { kind: 'stdio' },
    ] as const;
    assert.deepEqual(transportPlan('quic', all), ['quic', 'tcp', 'stdio']);
    assert.deepEqual(transportPlan('tcp', all), ['tcp', 'stdio']);
    assert.deepEqual(transportPlan('stdio', all), ['stdio']);
    assert.deepEqual(transportPlan('quic', [{ kind: 'stdio' }]), ['stdio']);
  });
});
