// Canary for the ssh2 internals listed in docs/vendor-patches.md (rows S1-S8): fails with a clear message when the
// installed ssh2 is not the version those rows were checked against, or when one of the shapes they rely on changed.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type AddressInfo, type Socket, connect as tcpConnect } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ssh2, { type ClientChannel, type ServerChannel } from 'ssh2';
import { quietChannelDestroy, SSH2_DESTROY } from './channel-destroy.ts';
import { SSH2_WINDOW, widenReceiveWindow } from './channel-window.ts';
import { ALLOC_PACKET, poolCipherPackets } from './cipher-packets.ts';
import { defaultHostKeyAlgorithms, nativeCryptoAvailable } from './ssh2-algorithms.ts';
import { testHostKey } from './test-host-key.ts';
import { coalesceWrites } from './write-coalescing.ts';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const DOC = 'docs/vendor-patches.md';
const MiB = 1024 * 1024;

const pinned: string = JSON.parse(readFileSync(join(root, 'packages/ssh/package.json'), 'utf8')).dependencies.ssh2;
const installed: string = require('ssh2/package.json').version;
const lib = join(dirname(require.resolve('ssh2/package.json')), 'lib');
const source = (file: string) => readFileSync(join(lib, file), 'utf8');
const squeeze = (code: string) => code.replace(/\s+/g, '');

// taken before anything in this process patches ssh2 (quietChannelDestroy replaces Channel.prototype.destroy)
const channelModule = require('ssh2/lib/Channel.js') as {
  Channel: { prototype: { destroy: () => unknown } };
  MAX_WINDOW: unknown;
};
const stockDestroy = channelModule.Channel.prototype.destroy;

/** A row's assumption, failing with the row and what to do. */
function row(id: string, ok: unknown, what: string): void {
  assert.ok(ok, `${DOC} row ${id} no longer holds for ssh2 ${installed}: ${what}; re-check the row and its code`);
}

/** Waits for `p`, or fails row `id` after 10 s (a changed ssh2 may just stall). */
async function within<T>(p: Promise<T>, id: string, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      try {
        row(id, false, `${what} within 10 s`);
      } catch (err) {
        reject(err);
      }
    }, 10_000);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

test('ssh2 is pinned exactly, installed at the pin, and docs/vendor-patches.md was checked against it', () => {
  assert.match(
    pinned,
    /^\d+\.\d+\.\d+$/,
    `packages/ssh/package.json declares ssh2 as "${pinned}": a patched dependency must be pinned exactly (see ${DOC})`,
  );
  const checked = [...readFileSync(join(root, DOC), 'utf8').matchAll(/`ssh2@(\d+\.\d+\.\d+)`/g)].map((m) => m[1]);
  assert.ok(checked.length > 0, `${DOC} has no ssh2@<version> rows`);
  assert.equal(new Set(checked).size, 1, `${DOC} names several ssh2 versions (${[...new Set(checked)]}): make one`);
  assert.equal(
    installed,
    checked[0],
    `ssh2 ${installed} is installed but the patches in ${DOC} were checked against ${checked[0]}: re-check each row, then update the pin`,
  );
  assert.equal(
    pinned,
    checked[0],
    `packages/ssh/package.json pins ssh2 ${pinned} but the patches in ${DOC} were checked against ${checked[0]}: re-check each row, then update the doc`,
  );
});

test('S1: lib/protocol/constants.js has the algorithm lists', () => {
  row('S1', existsSync(join(lib, 'protocol/constants.js')), 'lib/protocol/constants.js is gone');
  const c = require('ssh2/lib/protocol/constants.js') as Record<string, unknown>;
  for (const name of ['DEFAULT_CIPHER', 'SUPPORTED_CIPHER', 'DEFAULT_SERVER_HOST_KEY', 'SUPPORTED_SERVER_HOST_KEY']) {
    const list = c[name];
    row(
      'S1',
      Array.isArray(list) && list.length > 0 && list.every((x) => typeof x === 'string'),
      `constants.${name} is not a non-empty list of names`,
    );
  }
  const supported = c.SUPPORTED_CIPHER as string[];
  row(
    'S1',
    (c.DEFAULT_CIPHER as string[]).every((x) => supported.includes(x)),
    'DEFAULT_CIPHER is not within SUPPORTED_CIPHER',
  );
  row('S1', defaultHostKeyAlgorithms.length > 0, 'ssh2-algorithms.ts read no host key algorithms');
});

test('S2: lib/protocol/crypto.js says whether the native binding loaded', () => {
  const crypto = require('ssh2/lib/protocol/crypto.js') as { bindingAvailable?: unknown };
  row('S2', typeof crypto.bindingAvailable === 'boolean', 'crypto.bindingAvailable is not a boolean');
  row('S2', nativeCryptoAvailable === crypto.bindingAvailable, 'nativeCryptoAvailable does not follow it');
});

test('S3: lib/Channel.js MAX_WINDOW is the 2 MiB SSH2_WINDOW', () => {
  row(
    'S3',
    channelModule.MAX_WINDOW === SSH2_WINDOW,
    `Channel.MAX_WINDOW is ${channelModule.MAX_WINDOW}, not ${SSH2_WINDOW}`,
  );
});

test("S4: lib/client.js counts CHANNEL_DATA against the channel's incoming.window and push()es it", () => {
  const client = squeeze(source('client.js'));
  row(
    'S4',
    client.includes('channel.incoming.window-=data.length;'),
    'CHANNEL_DATA no longer decrements incoming.window',
  );
  row('S4', client.includes('channel.push(data)'), 'CHANNEL_DATA no longer calls channel.push(data)');
  row(
    'S4',
    squeeze(source('protocol/Protocol.js')).includes('channelWindowAdjust(chan,amount){'),
    'Protocol#channelWindowAdjust(chan, amount) is gone',
  );
});

test('S5: the AES-GCM and ChaCha20 cipher classes have the allocPacket cipher-packets.ts replaces', () => {
  const code = source('protocol/crypto.js');
  row(
    'S5',
    squeeze(source('protocol/Protocol.js')).includes('this._cipher.allocPacket('),
    'Protocol no longer calls this._cipher.allocPacket',
  );
  for (const cls of [
    'AESGCMCipherNative',
    'AESGCMCipherBinding',
    'ChaChaPolyCipherNative',
    'ChaChaPolyCipherBinding',
  ]) {
    const start = code.indexOf(`class ${cls} {`);
    row('S5', start >= 0, `class ${cls} is gone from lib/protocol/crypto.js`);
    const at = code.indexOf('  allocPacket(', start);
    const end = code.indexOf('\n  }\n', at);
    const next = code.indexOf('\nclass ', start + 1);
    row('S5', at > start && (next < 0 || at < next), `${cls} has no allocPacket`);
    const method = squeeze(code.slice(at, end + 4));
    row('S5', ALLOC_PACKET.test(method), `${cls}.allocPacket is not the text ALLOC_PACKET matches: ${method}`);
  }
  const fake = { _protocol: { _cipher: Object.create({ allocPacket: (n: number) => Buffer.alloc(n) }) } };
  assert.equal(poolCipherPackets(fake as unknown as ssh2.Client), false, 'an unknown allocPacket must be left alone');
});

test('S6: Channel.prototype.destroy is the text channel-destroy.ts replaces', () => {
  row(
    'S6',
    squeeze(stockDestroy.toString()) === SSH2_DESTROY,
    `Channel#destroy is now ${squeeze(stockDestroy.toString())}`,
  );
  const other = Object.create({ destroy() {} });
  assert.equal(quietChannelDestroy(other as ClientChannel), false, 'another destroy() must be left alone');
});

test('S8: lib/client.js keeps its keepalive reset as client._resetKA, and only replies call it', () => {
  const code = squeeze(source('client.js'));
  row('S8', code.includes('this._resetKA=resetKA;'), 'client.js no longer sets this._resetKA');
  row('S8', code.includes('callbacks.push(resetKA);proto.ping();'), 'a keepalive no longer waits for its reply');
});

describe('S4-S7 on real connections to an in-process ssh2 server', () => {
  let server: ssh2.Server;
  const waiting: Array<(ch: ServerChannel) => void> = [];
  const clients: ssh2.Client[] = [];

  before(async () => {
    const hostKey = testHostKey();
    server = new ssh2.Server({ hostKeys: [hostKey] }, (conn) => {
      conn.on('authentication', (ctx) => ctx.accept());
      conn.on('ready', () => conn.on('tcpip', (accept) => waiting.shift()?.(accept())));
      conn.on('error', () => {});
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  after(() => {
    for (const c of clients) c.end();
    server?.close();
  });

  /** A client over a coalesced socket, counting the bulk writes ssh2 makes on it (S7). */
  async function connect(cipher: string): Promise<{ client: ssh2.Client; bulkWrites: () => number }> {
    const sock: Socket = tcpConnect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(sock, 'connect');
    coalesceWrites(sock);
    let bulk = 0;
    const write = sock.write;
    sock.write = function countedWrite(this: Socket, ...args: Parameters<Socket['write']>) {
      if (((args[0] as { length?: number }).length ?? 0) >= 8 * 1024) bulk++;
      return write.apply(this, args);
    } as Socket['write'];
    const client = new ssh2.Client();
    clients.push(client);
    client.on('error', () => {});
    client.connect({ sock, username: 'canary', algorithms: { cipher: [cipher as never] } });
    await within(once(client, 'ready'), 'S7', `a client over a coalesced socket (${cipher}) got no 'ready'`);
    return { client, bulkWrites: () => bulk };
  }

  async function open(client: ssh2.Client): Promise<{ local: ClientChannel; remote: ServerChannel }> {
    const remote = new Promise<ServerChannel>((resolve) => waiting.push(resolve));
    const local = await new Promise<ClientChannel>((resolve, reject) =>
      client.forwardOut('127.0.0.1', 0, 'target', 80, (err, ch) => (err ? reject(err) : resolve(ch))),
    );
    return { local, remote: await within(remote, 'S4', 'the server saw no channel') };
  }

  for (const cipher of ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com']) {
    test(`${cipher}: cipher, channel and socket have the shapes the patches need, and data arrives intact`, async () => {
      const { client, bulkWrites } = await connect(cipher);
      const cipherObj = (client as unknown as { _protocol?: { _cipher?: { allocPacket?: unknown } } })._protocol
        ?._cipher;
      row('S5', typeof cipherObj?.allocPacket === 'function', 'client._protocol._cipher.allocPacket is not a function');
      row(
        'S5',
        poolCipherPackets(client),
        `poolCipherPackets did not recognise ${Object.getPrototypeOf(cipherObj).constructor.name}`,
      );

      const { local, remote } = await open(client);
      const ch = local as unknown as {
        incoming?: { window?: unknown };
        outgoing?: { id?: unknown; state?: unknown };
        _client?: { _protocol?: { channelWindowAdjust?: unknown } };
        _read?: unknown;
      };
      row('S4', ch.incoming?.window === SSH2_WINDOW, `channel.incoming.window is ${ch.incoming?.window}`);
      row('S4', typeof ch.outgoing?.id === 'number', 'channel.outgoing.id is not a number');
      row('S4', ch.outgoing?.state === 'open', `channel.outgoing.state is ${ch.outgoing?.state}, not 'open'`);
      row(
        'S4',
        typeof ch._client?._protocol?.channelWindowAdjust === 'function',
        'channel._client._protocol.channelWindowAdjust is not a function',
      );
      row('S4', typeof ch._read === 'function', 'channel._read is not a function');
      row('S6', quietChannelDestroy(local), 'quietChannelDestroy did not recognise the channel class');
      row('S4', widenReceiveWindow(local, 8 * MiB), 'widenReceiveWindow left the channel alone');
      assert.equal(
        widenReceiveWindow({ incoming: { window: 0 } } as unknown as ClientChannel, 8 * MiB),
        false,
        'a channel without the internals must be left alone',
      );

      // download 2 MiB: with the top-ups the server may send 8 MiB again once it is read; ssh2 alone stays at 6 MiB
      const outgoingWindow = () => (remote as unknown as { outgoing: { window: number } }).outgoing.window;
      const down = randomBytes(2 * MiB);
      const downHash = createHash('sha256');
      let got = 0;
      const downDone = new Promise<void>((resolve) =>
        local.on('data', (d: Buffer) => {
          downHash.update(d);
          got += d.length;
          if (got === down.length) resolve();
        }),
      );
      remote.write(down);
      await within(downDone, 'S4', 'a widened channel did not receive 2 MiB');
      for (let i = 0; i < 100 && outgoingWindow() < 7 * MiB; i++) await new Promise((r) => setTimeout(r, 20));
      row('S4', outgoingWindow() >= 7 * MiB, `the window was not topped up while data was read (${outgoingWindow()})`);
      assert.equal(downHash.digest('hex'), createHash('sha256').update(down).digest('hex'), 'download intact');

      // upload 1 MiB: pooled padding in the packets, and one sock.write per packet for coalesceWrites to batch
      const up = randomBytes(MiB);
      const upHash = createHash('sha256');
      let put = 0;
      const upDone = new Promise<void>((resolve) =>
        remote.on('data', (d: Buffer) => {
          upHash.update(d);
          put += d.length;
          if (put === up.length) resolve();
        }),
      );
      local.write(up);
      await within(upDone, 'S5', 'the server did not receive 1 MiB sent with pooled padding');
      assert.equal(upHash.digest('hex'), createHash('sha256').update(up).digest('hex'), 'upload intact');
      row('S7', bulkWrites() > 0, 'ssh2 wrote no bulk packet through sock.write');
      local.destroy();
    });
  }
});
