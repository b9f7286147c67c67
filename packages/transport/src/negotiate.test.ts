import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { describe, test } from 'node:test';
import type { Message } from '@port-linker/proto';
import { negotiateTransport } from './negotiate.ts';
import { acceptFrame, TcpTransportServer } from './tcp-transport.ts';

const tcpOffer = (port: number) => ({ kind: 'tcp' as const, port, secret: new Uint8Array(32) });

describe('negotiateTransport', () => {
  test('an attempt that hangs is abandoned after the timeout and stdio is accepted', async () => {
    const sent: Message[] = [];
    const t0 = performance.now();
    const r = await negotiateTransport(
      [{ kind: 'quic', port: 1, fingerprint: new Uint8Array(32) }, tcpOffer(1), { kind: 'stdio' }],
      'quic',
      { sendControl: (m) => sent.push(m), dial: () => new Promise<Duplex>(() => {}), log: () => {} },
      300,
    );
    const took = performance.now() - t0;
    assert.equal(r.kind, 'stdio');
    assert.equal(r.transport, undefined);
    assert.equal(r.failures.length, 2);
    assert.match(r.failures[0] ?? '', /quic transport: not supported by this host/);
    assert.match(r.failures[1] ?? '', /tcp transport: direct-tcpip dial did not finish within 300 ms/);
    assert.ok(took < 1000, `fell back in ${took} ms`);
    assert.deepEqual(
      sent.map((m) => (m.type === 'TransportAccept' ? m.kind : m.type)),
      ['tcp', 'stdio'],
      'each attempt is announced over stdio, the fallback last',
    );
  });

  test('a tcp attempt with the real secret wins', async () => {
    const server = await TcpTransportServer.listen();
    server.on('peer', (s: Duplex) => s.write(acceptFrame('tcp')));
    try {
      const r = await negotiateTransport(
        [{ kind: 'tcp', port: server.port, secret: server.secret }, { kind: 'stdio' }],
        'tcp',
        {
          sendControl: () => {},
          dial: async (h, p) => {
            const s = connect(p, h);
            await once(s, 'connect');
            return s;
          },
          log: () => {},
        },
        2000,
      );
      assert.equal(r.kind, 'tcp');
      r.transport?.close();
    } finally {
      server.close();
    }
  });
});
