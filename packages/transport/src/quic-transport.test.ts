import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { describe, test } from 'node:test';
import type { QUICConnection } from '@matrixai/quic';
import { encodeMessage, MessageDecoder } from '@port-linker/proto';
import { batchConnection, isBatched } from './quic-fast-path.ts';
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

  test("a handshake that reaches the agent before the host's pin (it travels over stdio) is tried again and gets through", async () => {
    const agentId = await generateQuicIdentity('agent');
    const hostId = await generateQuicIdentity('host');
    const server = await QuicTransportServer.listen(agentId);
    server.on('peer', (s: Duplex) => s.write(acceptFrame('quic')));
    // the TransportAccept carrying the host's fingerprint arrives a little after the handshake
    const late = setTimeout(() => server.expectClient(hostId.fingerprint), 150);
    try {
      const t = await connectQuicTransport({
        host: '127.0.0.1',
        port: server.port,
        identity: hostId,
        fingerprint: agentId.fingerprint,
        timeoutMs: 3000,
      });
      assert.equal(t.kind, 'quic');
      t.close();
    } finally {
      clearTimeout(late);
      await server.close();
    }
  });

  test('batched fast path on both sides (the installed library has the shape it needs): 4 MiB each way arrive intact, in order', async () => {
    assert.equal(batchConnection({} as QUICConnection), false, 'another shape: left alone');
    const agentId = await generateQuicIdentity('agent');
    const hostId = await generateQuicIdentity('host');
    const server = await QuicTransportServer.listen(agentId);
    server.expectClient(hostId.fingerprint);
    const total = 4 << 20;
    const pattern = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + (i >> 8)) & 0xff));
    const sent = pattern(total);
    const collect = (on: (f: (c: Uint8Array) => void) => void) =>
      new Promise<Buffer>((resolve) => {
        const parts: Buffer[] = [];
        let n = 0;
        on((c) => {
          parts.push(Buffer.from(c));
          n += c.length;
          if (n >= total) resolve(Buffer.concat(parts));
        });
      });
    let agentConn: QUICConnection | undefined;
    server.on('connection', (c: QUICConnection) => {
      agentConn = c;
    });
    let agentGot: Promise<Buffer> | undefined;
    server.on('peer', (s: Duplex) => {
      s.write(acceptFrame('quic'));
      // skip the host's Ping frame, then count
      let skipped = false;
      agentGot = collect((f) =>
        s.on('data', (c: Buffer) => {
          if (!skipped) {
            skipped = true;
            const ping = encodeMessage({ type: 'Ping', value: 0n }).length;
            if (c.length > ping) f(c.subarray(ping));
            return;
          }
          f(c);
        }),
      );
      for (let o = 0; o < total; o += 100_000) s.write(sent.subarray(o, o + 100_000));
    });
    try {
      let hostConn: QUICConnection | undefined;
      const t = await connectQuicTransport({
        host: '127.0.0.1',
        port: server.port,
        fingerprint: agentId.fingerprint,
        identity: hostId,
        timeoutMs: 3000,
        tuning: { maxSendUdpPayloadSize: 1350 },
        onConnection: (c) => {
          hostConn = c;
        },
      });
      const hostGot = collect((f) => t.on('data', f));
      for (let o = 0; o < total; o += 100_000) t.send(sent.subarray(o, o + 100_000));
      assert.ok(hostConn && isBatched(hostConn), 'host connection batched');
      assert.ok(agentConn && isBatched(agentConn), 'agent connection batched');
      assert.ok((await hostGot).subarray(0, total).equals(sent), 'agent -> host intact');
      assert.ok((await agentGot)?.subarray(0, total).equals(sent), 'host -> agent intact');
      t.close();
    } finally {
      await server.close();
    }
  });
});
