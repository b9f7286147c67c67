import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { connectDirect } from './direct-client.ts';
import { startDirectServer } from './direct-server.ts';
import type { MuxStream } from './mux-stream.ts';

/** A TCP server on 127.0.0.1 that echoes, or calls `onConn`. */
async function tcpServer(onConn: (s: Socket) => void = (s) => s.pipe(s)): Promise<{ port: number; server: Server }> {
  const server = createServer({ allowHalfOpen: true }, onConn);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as { port: number }).port, server };
}

async function readAll(s: MuxStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('direct path: 8 MB each way through 20 concurrent streams, byte-exact, with half-close', async () => {
  const echo = await tcpServer();
  const agent = await startDirectServer('127.0.0.1');
  const session = await connectDirect({ address: '127.0.0.1', port: agent.port, key: agent.key }, 3000);
  try {
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const data = randomBytes(i === 0 ? 8 * 1024 * 1024 : 64 * 1024 + i);
        const s = session.open('127.0.0.1', echo.port);
        const got = readAll(s);
        s.end(data);
        return { want: sha(data), got: sha(await got) };
      }),
    );
    for (const r of results) assert.equal(r.got, r.want);
    assert.equal(session.size, 0, 'finished streams are forgotten');
    const rtt = await session.ping(1000);
    assert.ok(rtt !== undefined && rtt >= 0);
  } finally {
    session.close();
    agent.close();
    echo.server.close();
  }
});

test('direct path: a stalled reader holds back its own sender only (credit), the other stream goes on', async () => {
  let stalled: Socket | undefined;
  const sink = await tcpServer((s) => {
    stalled = s;
    s.pause();
  });
  const echo = await tcpServer();
  const agent = await startDirectServer('127.0.0.1');
  const session = await connectDirect({ address: '127.0.0.1', port: agent.port, key: agent.key }, 3000);
  try {
    const slow = session.open('127.0.0.1', sink.port);
    let accepted = 0;
    const chunk = Buffer.alloc(256 * 1024);
    // write until the stream's buffer says stop: bounded by credit + buffers, far below what was offered
    for (let i = 0; i < 400 && slow.write(chunk); i++) accepted += chunk.length;
    assert.ok(accepted < 40 * 1024 * 1024, `a stalled peer took ${accepted} bytes`);
    const fast = session.open('127.0.0.1', echo.port);
    const got = readAll(fast);
    fast.end(Buffer.from('still flowing'));
    assert.equal(String(await got), 'still flowing');
    slow.destroy();
  } finally {
    stalled?.destroy();
    session.close();
    agent.close();
    sink.server.close();
    echo.server.close();
  }
});

test('direct path: a refused dial resets the stream with the reason', async () => {
  const closed = await tcpServer();
  const port = closed.port;
  await new Promise((r) => closed.server.close(r));
  const agent = await startDirectServer('127.0.0.1');
  const session = await connectDirect({ address: '127.0.0.1', port: agent.port, key: agent.key }, 3000);
  try {
    const s = session.open('127.0.0.1', port);
    s.write('hello');
    const [err] = (await once(s, 'error')) as [Error];
    assert.match(err.message, /connect to 127\.0\.0\.1:\d+ failed: ECONNREFUSED/);
    assert.equal(session.closed, false, 'one failed stream leaves the session up');
  } finally {
    session.close();
    agent.close();
  }
});

test('direct path: a wrong key is refused in the handshake; a closed session fails new opens', async () => {
  const agent = await startDirectServer('127.0.0.1');
  try {
    await assert.rejects(
      connectDirect({ address: '127.0.0.1', port: agent.port, key: randomBytes(32) }, 3000),
      /127\.0\.0\.1:\d+: /,
    );
    const session = await connectDirect({ address: '127.0.0.1', port: agent.port, key: agent.key }, 3000);
    agent.close(); // closes its sessions too
    await once(session, 'close');
    assert.throws(() => session.open('127.0.0.1', 1), /closed/);
    assert.equal(await session.ping(200), undefined);
  } finally {
    agent.close();
  }
});
