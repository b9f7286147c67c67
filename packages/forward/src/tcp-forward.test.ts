import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import { pipeBoth } from './tcp-forward.ts';

/** A local TCP pair: the accepted side (what a forward gets) and the client side. */
async function socketPair(): Promise<{ accepted: Socket; client: Socket; close(): void }> {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect({ port: (server.address() as { port: number }).port, host: '127.0.0.1', allowHalfOpen: true });
  const [accepted] = (await once(server, 'connection')) as [Socket];
  return {
    accepted,
    client,
    close: () => {
      client.destroy();
      accepted.destroy();
      server.close();
    },
  };
}

test('pipeBoth: a slow remote pauses the local socket, and every byte still arrives in order', async () => {
  const { accepted, client, close } = await socketPair();
  try {
    const received: Buffer[] = [];
    let release: () => void = () => {};
    let held = true;
    const remote = new Duplex({
      highWaterMark: 16 * 1024,
      read() {},
      write(chunk: Buffer, _enc, cb) {
        received.push(chunk);
        if (held) release = cb;
        else cb();
      },
      final(cb) {
        this.push(null);
        cb();
      },
    });
    pipeBoth(accepted, remote);
    const data = randomBytes(4 * 1024 * 1024);
    client.end(data);
    const deadline = Date.now() + 5000;
    while (!accepted.isPaused() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.ok(accepted.isPaused(), 'the local socket was paused while the remote held its writes');
    const heldBytes = received.reduce((n, b) => n + b.length, 0);
    assert.ok(heldBytes < data.length, 'the remote did not take everything while it was not consuming');
    held = false;
    release();
    await once(client, 'end'); // the remote's EOF (after the local EOF reached it) came back as a FIN
    assert.ok(Buffer.concat(received).equals(data));
  } finally {
    close();
  }
});

test('pipeBoth: EOF travels each way separately (half-close) and the reply after it still arrives', async () => {
  const { accepted, client, close } = await socketPair();
  try {
    const remote = new Duplex({
      read() {},
      write(_chunk, _enc, cb) {
        cb();
      },
      final(cb) {
        // the local client finished sending: reply after its EOF, then end
        setTimeout(() => {
          this.push(Buffer.from('late reply'));
          this.push(null);
        }, 20);
        cb();
      },
    });
    pipeBoth(accepted, remote);
    const chunks: Buffer[] = [];
    client.on('data', (d: Buffer) => chunks.push(d));
    client.end('request');
    await once(client, 'end');
    assert.equal(Buffer.concat(chunks).toString(), 'late reply');
  } finally {
    close();
  }
});
