import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { describe, test } from 'node:test';
import { encodeMessage, MessageDecoder } from '@port-linker/proto';
import { generateQuicIdentity } from './quic-identity.ts';
import { connectQuicTransport, QuicTransportServer } from './quic-transport.ts';
import { acceptFrame } from './tcp-transport.ts';

describe('quic transport (loopback, mutual pinning)', () => {
  test('pinned both ways: frames flow; a wrong agent fingerprint is refused by the host, a wrong host certificate by the agent', async () => {
    const agentId = await generateQuicIdentity('agent');
    const hostId = await generateQuicIdentity('host');
    const otherId = await generateQuicIdentity('intruder');
    const server = await QuicTransportServer.listen(agentId);
    const rejected: string[] = [];
    server.on('rejected', (why: string) => rejected.push(why));
    server.on('peer', (s: Duplex) => {
      s.write(acceptFrame('quic'));
      s.write(encodeMessage({ type: 'Pong', value: 42n }));
    });
    try {
      server.expectClient(hostId.fingerprint);
      const base = { host: '127.0.0.1', port: server.port, identity: hostId, timeoutMs: 3000 };

      await assert.rejects(
        connectQuicTransport({ ...base, fingerprint: otherId.fingerprint }),
        /certificate does not match the fingerprint/,
      );
      await assert.rejects(
        connectQuicTransport({ ...base, identity: otherId, fingerprint: agentId.fingerprint, timeoutMs: 1500 }),
        /quic transport/,
      );

      const t = await connectQuicTransport({ ...base, fingerprint: agentId.fingerprint });
      const decoder = new MessageDecoder();
      const [pong] = await new Promise<ReturnType<MessageDecoder['push']>>((resolve) =>
        t.on('data', (c: Uint8Array) => resolve(decoder.push(c))),
      );
      assert.deepEqual(pong, { type: 'Pong', value: 42n });
      t.close();
    } finally {
      await server.close();
    }
  });
});
