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

test('DataPath direct: streams while the TLS session lives, SSH channels at once after it drops', async () => {
  const echo = createServer((s) => s.pipe(s));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const echoPort = (echo.address() as { port: number }).port;
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
