import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import ssh2, { type ClientChannel, type ServerChannel } from 'ssh2';
import { SSH2_WINDOW, widenReceiveWindow, windowForRoundTrip } from './channel-window.ts';
import { poolCipherPackets } from './cipher-packets.ts';
import { testHostKey } from './test-host-key.ts';

const MiB = 1024 * 1024;

test('windowForRoundTrip keeps ssh2 2 MiB on fast links and grows to 8 MiB on slow ones', () => {
  assert.equal(windowForRoundTrip(0.3), SSH2_WINDOW);
  assert.equal(windowForRoundTrip(4), SSH2_WINDOW);
  assert.equal(windowForRoundTrip(10), 5 * MiB);
  assert.equal(windowForRoundTrip(50), 8 * MiB);
});

test('poolCipherPackets leaves an allocPacket it does not know alone', () => {
  const allocPacket = (n: number) => Buffer.alloc(n);
  const fake = { _protocol: { _cipher: Object.create({ allocPacket }) } };
  assert.equal(poolCipherPackets(fake as unknown as ssh2.Client), false);
  assert.equal(Object.getPrototypeOf(fake._protocol._cipher).allocPacket, allocPacket);
});

describe('forwarded channels over an in-process ssh2 server (aes128-gcm)', () => {
  let server: ssh2.Server;
  let client: ssh2.Client;
  const channels: ServerChannel[] = [];
  const waiting: Array<(ch: ServerChannel) => void> = [];

  before(async () => {
    const hostKey = testHostKey();
    server = new ssh2.Server({ hostKeys: [hostKey] }, (conn) => {
      conn.on('authentication', (ctx) => ctx.accept());
      conn.on('ready', () => {
        conn.on('tcpip', (accept) => {
          const ch = accept();
          const w = waiting.shift();
          if (w) w(ch);
          else channels.push(ch);
        });
      });
      conn.on('error', () => {});
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    client = new ssh2.Client();
    client.connect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      username: 'bench',
      algorithms: { cipher: ['aes128-gcm@openssh.com'] },
    });
    await once(client, 'ready');
  });
  after(() => {
    client?.end();
    server?.close();
  });

  async function open(): Promise<{ local: ClientChannel; remote: ServerChannel }> {
    const remote = new Promise<ServerChannel>((resolve) => {
      const ready = channels.shift();
      if (ready) resolve(ready);
      else waiting.push(resolve);
    });
    const local = await new Promise<ClientChannel>((resolve, reject) =>
      client.forwardOut('127.0.0.1', 0, 'target', 80, (err, ch) => (err ? reject(err) : resolve(ch))),
    );
    return { local, remote: await remote };
  }

  const outgoingWindow = (ch: ServerChannel) => (ch as unknown as { outgoing: { window: number } }).outgoing.window;

  test('the server may send 8 MiB after widening, and only 2 MiB without', async () => {
    const plain = await open();
    const wide = await open();
    assert.equal(widenReceiveWindow(wide.local, 8 * MiB), true);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(outgoingWindow(plain.remote), 2 * MiB);
    assert.equal(outgoingWindow(wide.remote), 8 * MiB);
    assert.equal(widenReceiveWindow(plain.local, 2 * MiB), false, 'no-op at ssh2 own size');
    plain.local.destroy();
    wide.local.destroy();
  });

  test('a paused reader holds at most the window; then 32 MiB arrive intact both ways with pooled packets', async () => {
    assert.equal(poolCipherPackets(client), true, 'ssh2 aes128-gcm allocPacket recognised');
    const { local, remote } = await open();
    widenReceiveWindow(local, 8 * MiB);
    const data = randomBytes(32 * MiB);
    const sent = (async () => {
      for (let off = 0; off < data.length; off += 64 * 1024) {
        if (!remote.write(data.subarray(off, off + 64 * 1024))) await once(remote, 'drain');
      }
      remote.end();
    })();
    await new Promise((r) => setTimeout(r, 400)); // nobody reads `local` yet
    const held = local.readableLength;
    assert.ok(held > 2 * MiB, `widened: more than ssh2's 2 MiB in flight (${held})`);
    // bounded: the window plus what the readable side buffers before push() says stop (ssh2's 2 MiB)
    assert.ok(held <= 10 * MiB, `bounded by the window while paused (${held})`);

    const upload = randomBytes(4 * MiB);
    const upHash = createHash('sha256');
    remote.on('data', (d: Buffer) => upHash.update(d));
    local.end(upload);
    const hash = createHash('sha256');
    local.on('data', (d: Buffer) => hash.update(d));
    await Promise.all([once(local, 'end'), sent]);
    assert.equal(hash.digest('hex'), createHash('sha256').update(data).digest('hex'));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(upHash.digest('hex'), createHash('sha256').update(upload).digest('hex'));
    local.destroy();
  });
});
