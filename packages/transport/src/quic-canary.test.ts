// Canary for the @matrixai/quic internals listed in docs/vendor-patches.md (rows Q1-Q6): fails with a clear message
// when the installed library is not the version those rows were checked against, or when a shape they rely on changed.
import assert from 'node:assert/strict';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Socket as UdpSocket } from 'node:dgram';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Logger, { LogLevel } from '@matrixai/logger';
import {
  QUICClient,
  type QUICConnection,
  QUICConnection as QUICConnectionClass,
  QUICServer,
  QUICSocket,
  type QUICStream,
  errors as quicErrors,
  events as quicEvents,
} from '@matrixai/quic';
import { batchConnection, isBatched, lightenConnection, QUIC_FAST_PATH_FOR } from './quic-fast-path.ts';
import { generateQuicIdentity } from './quic-identity.ts';
import { raiseSocketBuffers } from './quic-transport.ts';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const DOC = 'docs/vendor-patches.md';
const PKG = '@matrixai/quic';
const ADDON_PKG = `@matrixai/quic-${process.platform}-${process.arch}`;

const pinned: string = JSON.parse(readFileSync(join(root, 'packages/transport/package.json'), 'utf8')).dependencies[
  PKG
];
const quicPackage = require(`${PKG}/package.json`) as {
  version: string;
  optionalDependencies?: Record<string, string>;
};
const installed = quicPackage.version;
const dist = join(dirname(require.resolve(`${PKG}/package.json`)), 'dist');
const squeeze = (code: string) => code.replace(/\s+/g, '');

/** A row's assumption, failing with the row and what to do. */
function row(id: string, ok: unknown, what: string): void {
  assert.ok(ok, `${DOC} row ${id} no longer holds for ${PKG} ${installed}: ${what}; re-check the row and its code`);
}

/** Waits for `p`, or fails row `id` after 10 s (a changed library may just stall). */
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

test('@matrixai/quic is pinned exactly, installed at the pin, and docs/vendor-patches.md was checked against it', () => {
  assert.match(
    pinned,
    /^\d+\.\d+\.\d+$/,
    `packages/transport/package.json declares ${PKG} as "${pinned}": a patched dependency must be pinned exactly (see ${DOC})`,
  );
  const checked = [...readFileSync(join(root, DOC), 'utf8').matchAll(/`@matrixai\/quic@(\d+\.\d+\.\d+)`/g)].map(
    (m) => m[1],
  );
  assert.ok(checked.length > 0, `${DOC} has no ${PKG}@<version> rows`);
  assert.equal(new Set(checked).size, 1, `${DOC} names several ${PKG} versions (${[...new Set(checked)]}): make one`);
  assert.equal(
    installed,
    checked[0],
    `${PKG} ${installed} is installed but the patches in ${DOC} were checked against ${checked[0]}: re-check each row, then update the pin`,
  );
  assert.equal(
    pinned,
    checked[0],
    `packages/transport/package.json pins ${PKG} ${pinned} but the patches in ${DOC} were checked against ${checked[0]}: re-check each row, then update the doc`,
  );
  assert.equal(
    QUIC_FAST_PATH_FOR,
    `${PKG} ${pinned}`,
    `quic-fast-path.ts QUIC_FAST_PATH_FOR says "${QUIC_FAST_PATH_FOR}" but ${PKG} is pinned at ${pinned}: update it with ${DOC}`,
  );
});

test('Q4: the addon package the build copies is the exact version of the library', () => {
  const wanted = quicPackage.optionalDependencies?.['@matrixai/quic-linux-x64'];
  row('Q4', wanted === installed, `${PKG} wants @matrixai/quic-linux-x64 "${wanted}", not exactly ${installed}`);
  let addon: { version: string } | undefined;
  try {
    addon = require(`${ADDON_PKG}/package.json`);
  } catch {}
  if (process.platform === 'linux' && process.arch === 'x64')
    row('Q4', addon?.version === installed, `${ADDON_PKG} is ${addon?.version ?? 'not installed'}, not ${installed}`);
});

test('Q4: dist/native/quiche.js is the loader scripts/bundle.mjs replaces, imported only for its default export', async () => {
  const loader = join(dist, 'native/quiche.js');
  row('Q4', existsSync(loader), 'dist/native/quiche.js is gone');
  // the filter of scripts/bundle.mjs quicAddonFromPath
  row('Q4', /@matrixai[\\/]quic[\\/]dist[\\/]native[\\/]quiche\.js$/.test(loader), `the loader is at ${loader}`);
  const code = readFileSync(loader, 'utf8');
  row(
    'Q4',
    code.includes('createRequire(import.meta.url)'),
    'the loader no longer uses createRequire(import.meta.url)',
  );
  row(
    'Q4',
    /^export default nativeBinding;$/m.test(code),
    'the loader no longer ends in `export default nativeBinding`',
  );
  const files = (readdirSync(dist, { recursive: true }) as string[]).filter((f) => f.endsWith('.js'));
  let importers = 0;
  for (const file of files) {
    for (const line of readFileSync(join(dist, file), 'utf8').split('\n')) {
      if (!/from '(\.\.?\/)+(native\/)?quiche\.js'/.test(line)) continue;
      importers++;
      row(
        'Q4',
        /^import quiche from '/.test(line) || /^export \{ default as quiche \} from '/.test(line),
        `dist/${file} imports more than the default export of quiche.js: ${line.trim()}`,
      );
    }
  }
  row('Q4', importers > 0, 'no file of dist/ imports native/quiche.js any more');
  if (process.platform !== 'linux' || process.arch !== 'x64') return;
  const fromLoader = createRequire(loader);
  const addonPath = fromLoader.resolve('@matrixai/quic-linux-x64');
  row(
    'Q4',
    addonPath.endsWith('/node.napi.node'),
    `@matrixai/quic-linux-x64 resolves to ${addonPath}, not node.napi.node`,
  );
  const quiche = (await import(`${PKG}/native/quiche.js`)).default;
  row('Q4', quiche === fromLoader(addonPath), "the loader's default export is not the addon's own exports object");
});

test('Q5 and Q6: event types are class names; errors carry a static description', () => {
  for (const name of [
    'EventQUICStreamSend',
    'EventQUICConnectionError',
    'EventQUICConnectionSend',
    'EventQUICConnectionStream',
    'EventQUICServerConnection',
  ] as const) {
    const E = quicEvents[name] as unknown as (new () => Event) | undefined;
    row('Q5', typeof E === 'function', `events.${name} is gone`);
    if (!E) continue;
    row(
      'Q5',
      E.name === name && new E().type === name,
      `events.${name}'s type is "${new E().type}", not its class name`,
    );
  }
  for (const name of [
    'ErrorQUICClientCreateTimeout',
    'ErrorQUICConnectionStartTimeout',
    'ErrorQUICConnectionIdleTimeout',
    'ErrorQUICConnectionLocal',
    'ErrorQUICConnectionInternal',
  ] as const) {
    const E = quicErrors[name] as unknown as { description?: unknown } | undefined;
    row('Q6', typeof E?.description === 'string' && E.description !== '', `errors.${name} has no static description`);
  }
});

test('Q1 and Q2: QUICConnection keeps the methods the fast path replaces or calls', () => {
  const proto = QUICConnectionClass.prototype as unknown as Record<string, unknown>;
  for (const name of ['recv', 'send', 'processStreams', 'setConnTimeoutTimer', 'newStream', 'dispatchEvent']) {
    row(name === 'recv' ? 'Q1' : 'Q2', typeof proto[name] === 'function', `QUICConnection#${name} is not a method`);
  }
  // the methods are wrapped by async-init decorators: read their bodies in the class's file, not their toString()
  const file = readFileSync(join(dist, 'QUICConnection.js'), 'utf8');
  const method = (name: string) => {
    const at = file.search(new RegExp(`^    (async )?${name}\\(`, 'm'));
    return at < 0 ? '' : squeeze(file.slice(at, file.indexOf('\n    }\n', at)));
  };
  row(
    'Q1',
    method('recv').includes('awaitthis.recvLock.withF(async()=>{'),
    'recv() no longer runs under this.recvLock.withF',
  );
  const register = 'addEventListener(events.EventQUICStreamSend.name,this.handleEventQUICStreamSend)';
  for (const name of ['processStreams', 'newStream']) {
    row(
      'Q2',
      method(name).includes(register),
      `${name}() no longer registers this.handleEventQUICStreamSend by EventQUICStreamSend.name`,
    );
  }
  row('Q2', typeof quicErrors.ErrorQUICConnectionInternal === 'function', 'errors.ErrorQUICConnectionInternal is gone');
  row('Q2', typeof quicErrors.ErrorQUICConnectionLocal === 'function', 'errors.ErrorQUICConnectionLocal is gone');
  assert.equal(lightenConnection({} as QUICConnection), false, 'a connection without recvLock must be left alone');
  assert.equal(batchConnection({} as QUICConnection), false, 'another shape must be left alone');
  assert.equal(raiseSocketBuffers({}, 1 << 20), false, 'an owner without a UDP socket must be left alone');
});

test('Q1-Q3 on a real loopback connection: the stock shapes, then the patched path carries data intact', async () => {
  const identity = await generateQuicIdentity('canary');
  const logger = new Logger('quic-canary', LogLevel.WARN, []);
  const key = randomBytes(32);
  const mac = (k: ArrayBuffer, d: ArrayBuffer) => createHmac('sha256', Buffer.from(k)).update(Buffer.from(d)).digest();
  const server = new QUICServer({
    crypto: {
      key: key.buffer.slice(key.byteOffset, key.byteOffset + 32),
      ops: {
        sign: async (k: ArrayBuffer, d: ArrayBuffer) => {
          const s = mac(k, d);
          return s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength);
        },
        verify: async (k: ArrayBuffer, d: ArrayBuffer, sig: ArrayBuffer) => {
          const s = mac(k, d);
          return s.length === sig.byteLength && timingSafeEqual(s, Buffer.from(sig));
        },
      },
    },
    config: { key: identity.keyPem, cert: identity.certPem, verifyPeer: false },
    logger,
  });
  let serverConn: (conn: QUICConnection) => void = () => {};
  const serverConnP = new Promise<QUICConnection>((resolve) => {
    serverConn = resolve;
  });
  const total = 1 << 20;
  const sent = randomBytes(total);
  server.addEventListener(quicEvents.EventQUICServerConnection.name, (evt: Event) => {
    const conn = (evt as unknown as { detail: QUICConnection }).detail;
    serverConn(conn);
    // echo the first stream back
    conn.addEventListener(quicEvents.EventQUICConnectionStream.name, async (e: Event) => {
      const stream = (e as unknown as { detail: QUICStream }).detail;
      const writer = stream.writable.getWriter();
      for await (const chunk of stream.readable as unknown as AsyncIterable<Uint8Array>) await writer.write(chunk);
      await writer.close();
    });
  });
  await server.start({ host: '127.0.0.1', port: 0 });
  let client: QUICClient | undefined;
  try {
    client = await within(
      QUICClient.createQUICClient({
        host: '127.0.0.1',
        port: server.port,
        crypto: { ops: { randomBytes: async (b: ArrayBuffer) => void randomBytes(b.byteLength).copy(Buffer.from(b)) } },
        config: { verifyPeer: false },
        logger,
      }),
      'Q2',
      'a loopback client did not connect',
    );
    const conns = { host: client.connection, agent: await within(serverConnP, 'Q2', 'the server saw no connection') };

    for (const [owner, name] of [
      [server, 'QUICServer'],
      [client, 'QUICClient'],
    ] as const) {
      const s = (owner as unknown as { socket?: { socket?: unknown } }).socket;
      row('Q3', s instanceof QUICSocket, `${name}.socket is not a QUICSocket`);
      row('Q3', s?.socket instanceof UdpSocket, `${name}.socket.socket is not a dgram.Socket`);
      row('Q3', raiseSocketBuffers(owner, 1 << 20), `raiseSocketBuffers did not set ${name}'s UDP buffers`);
    }

    for (const [side, conn] of Object.entries(conns)) {
      const c = conn as unknown as Record<string, unknown> & {
        recvLock?: { withF?: unknown; waitForUnlock?: unknown };
        conn?: Record<string, unknown>;
        socket?: { socket?: unknown };
        config?: { maxSendUdpPayloadSize?: unknown };
      };
      const at = `the ${side} side's QUICConnection`;
      row('Q1', typeof c.recvLock?.withF === 'function', `${at}.recvLock.withF is not a function`);
      row('Q1', typeof c.recvLock?.waitForUnlock === 'function', `${at}.recvLock.waitForUnlock is not a function`);
      for (const m of ['recv', 'send', 'isDraining', 'isClosed', 'localError', 'peerError'])
        row('Q2', typeof c.conn?.[m] === 'function', `${at}.conn.${m} (native quiche) is not a function`);
      row('Q2', c.socket?.socket instanceof UdpSocket, `${at}.socket.socket is not a dgram.Socket`);
      row('Q2', typeof c.handleEventQUICStreamSend === 'function', `${at}.handleEventQUICStreamSend is not a function`);
      row('Q2', c.streamMap instanceof Map, `${at}.streamMap is not a Map`);
      row('Q2', typeof c.secureEstablished === 'boolean', `${at}.secureEstablished is not a boolean`);
      row('Q2', typeof c.sendId === 'string', `${at}.sendId is not a string`);
      row('Q2', typeof c.localHost === 'string' && typeof c.localPort === 'number', `${at}.localHost/localPort`);
      row(
        'Q2',
        typeof c._remoteHost === 'string' && typeof c._remotePort === 'number',
        `${at}._remoteHost/_remotePort`,
      );
      row(
        'Q2',
        typeof c.config?.maxSendUdpPayloadSize === 'number' && c.config.maxSendUdpPayloadSize > 0,
        `${at}.config.maxSendUdpPayloadSize is not a positive number`,
      );
      row('Q1', lightenConnection(conn), `lightenConnection left ${at} alone`);
      row('Q2', batchConnection(conn) && isBatched(conn), `batchConnection left ${at} alone`);
    }

    // both connections patched: 1 MiB goes out and comes back on one stream, in order
    const stream = client.connection.newStream('bidi');
    const writer = stream.writable.getWriter();
    const echoed = (async () => {
      const parts: Buffer[] = [];
      for await (const chunk of stream.readable as unknown as AsyncIterable<Uint8Array>) parts.push(Buffer.from(chunk));
      return Buffer.concat(parts);
    })();
    for (let o = 0; o < total; o += 64 * 1024) await writer.write(sent.subarray(o, o + 64 * 1024));
    await writer.close();
    const back = await within(echoed, 'Q2', 'the batched connections did not echo 1 MiB');
    row(
      'Q2',
      back.equals(sent),
      `the batched connections echoed ${back.length} bytes that differ from the ${total} sent`,
    );
  } finally {
    await client?.destroy({ force: true }).catch(() => {});
    await server.stop({ force: true }).catch(() => {});
  }
});
