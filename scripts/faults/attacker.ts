// The attacker of the security rows (security-faults.ts): run as another local user (`setpriv --reuid=65534 ...`),
// on this machine or inside a harness host's namespace, with a JSON list of attacks on stdin; prints one JSON
// array of outcomes. It only reports what the other side did (connected, status, closed, bytes back): the row
// decides what counts as refused. Never prints file contents (a readable file is reported by its size).
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** One attack. Byte strings are hex. */
export type Attack =
  | { op: 'unix'; path: string }
  | { op: 'read'; path: string }
  | {
      op: 'http';
      port: number;
      method: string;
      path: string;
      headers?: Record<string, string>;
      body?: string;
    }
  /** Connects, sends `send`, then waits up to `waitMs` for the peer to close (recording what came back). */
  | { op: 'tcp'; host: string; port: number; send: string; waitMs: number }
  /**
   * The secret-prefix oracle: 256 connections at once, each sending the bytes found so far plus one byte value;
   * after `waitMs`, which of them the peer closed. A peer that closes all but one has told which byte comes next:
   * go on with it, up to `bytes` bytes; with all of them, connect once more sending them and see whether the
   * peer keeps that connection (it took the secret) for `waitMs` more.
   */
  | { op: 'oracle'; host: string; port: number; bytes: number; waitMs: number }
  /** TLS 1.3 with a pre-shared key (`key` hex; absent: a plain certificate handshake). */
  | { op: 'tls'; host: string; port: number; key?: string; identity?: string }
  /** A QUIC client with its own certificate (`cert: true`) or none; trusts any server certificate. */
  | { op: 'quic'; host: string; port: number; cert: boolean; alpn: string }
  /** Raw UDP datagrams; counts what comes back within `waitMs`. */
  | { op: 'udp'; host: string; port: number; datagrams: string[]; waitMs: number };

export interface Outcome {
  op: string;
  /** The connection (or handshake) was established. */
  connected?: boolean;
  /** errno code or error text. */
  error?: string;
  status?: number;
  body?: string;
  /** Bytes the peer sent back before closing (first 64, hex) and how many. */
  received?: string;
  receivedBytes?: number;
  /** The peer closed the connection within waitMs, after this long. */
  closedAfterMs?: number;
  /** oracle: how many of the 256 the peer closed in the first round, and the byte values it kept open. */
  closed?: number;
  open?: number[];
  /** oracle: how many bytes of the secret the peer gave away, and whether it then kept the connection. */
  recovered?: number;
  taken?: boolean;
  /** read: the file was readable, this many bytes. */
  bytes?: number;
}

const errText = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message ?? String(err);

function unix(path: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = netConnect(path);
    s.once('connect', () => {
      s.destroy();
      resolve({ op: 'unix', connected: true });
    });
    s.once('error', (err) => resolve({ op: 'unix', connected: false, error: errText(err) }));
  });
}

function read(path: string): Outcome {
  try {
    return { op: 'read', bytes: readFileSync(path).length };
  } catch (err) {
    return { op: 'read', error: errText(err) };
  }
}

function http(a: Extract<Attack, { op: 'http' }>): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port: a.port, method: a.method, path: a.path, headers: a.headers ?? {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d;
          if (body.length > 4096) res.destroy();
        });
        const done = () => resolve({ op: 'http', status: res.statusCode ?? 0, body: body.slice(0, 4096) });
        res.once('end', done);
        res.once('close', done);
      },
    );
    req.once('error', (err) => resolve({ op: 'http', error: errText(err) }));
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
    req.end(a.body);
  });
}

/** Connects and sends; resolves once the peer closed or `waitMs` passed (then closes itself). */
function tcp(host: string, port: number, send: Buffer, waitMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const s: Socket = netConnect({ host, port });
    const got: Buffer[] = [];
    let connectedAt = 0;
    let settled = false;
    const finish = (o: Partial<Outcome>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      const all = Buffer.concat(got);
      resolve({
        op: 'tcp',
        connected: connectedAt > 0,
        receivedBytes: all.length,
        received: all.subarray(0, 64).toString('hex'),
        ...o,
      });
    };
    const timer = setTimeout(() => finish({}), waitMs + 2000);
    s.on('data', (d: Buffer) => got.push(d));
    s.once('connect', () => {
      connectedAt = performance.now();
      s.write(send);
      clearTimeout(timer);
      setTimeout(() => finish({}), waitMs);
    });
    s.once('close', () => finish(connectedAt ? { closedAfterMs: Math.round(performance.now() - connectedAt) } : {}));
    s.once('error', (err) => finish({ error: errText(err) }));
  });
}

async function oracle(a: Extract<Attack, { op: 'oracle' }>): Promise<Outcome> {
  let found = Buffer.alloc(0);
  let first: Pick<Outcome, 'closed' | 'open'> | undefined;
  while (found.length < a.bytes) {
    const tries = await Promise.all(
      Array.from({ length: 256 }, (_, v) => tcp(a.host, a.port, Buffer.concat([found, Buffer.of(v)]), a.waitMs)),
    );
    const failed = tries.find((t) => !t.connected);
    if (failed) return { op: 'oracle', ...first, recovered: found.length, error: failed.error ?? 'not connected' };
    const open = tries.flatMap((t, v) => (t.closedAfterMs === undefined ? [v] : []));
    first ??= { closed: 256 - open.length, open: open.length > 8 ? open.slice(0, 8) : open };
    if (open.length !== 1) break;
    found = Buffer.concat([found, Buffer.of(open[0] as number)]);
  }
  if (found.length < a.bytes) return { op: 'oracle', ...first, recovered: found.length };
  const last = await tcp(a.host, a.port, found, a.waitMs * 4);
  return { op: 'oracle', ...first, recovered: found.length, taken: last.closedAfterMs === undefined };
}

function tls(a: Extract<Attack, { op: 'tls' }>): Promise<Outcome> {
  return new Promise((resolve) => {
    const key = a.key ? Buffer.from(a.key, 'hex') : undefined;
    const s = tlsConnect({
      host: a.host,
      port: a.port,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      ...(key
        ? {
            ciphers: 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256',
            pskCallback: () => ({ psk: key, identity: a.identity ?? 'port-linker-data/1' }),
          }
        : {}),
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ op: 'tls', connected: false, error: 'no handshake within 5 s' });
    }, 5000);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve({ op: 'tls', connected: true });
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      resolve({ op: 'tls', connected: false, error: errText(err).split('\n')[0] });
    });
  });
}

async function quic(a: Extract<Attack, { op: 'quic' }>): Promise<Outcome> {
  const { QUICClient, events } = await import('@matrixai/quic');
  const { generateQuicIdentity } = await import('@port-linker/transport/quic');
  const identity = a.cert ? await generateQuicIdentity('someone-else') : undefined;
  let client: Awaited<ReturnType<typeof QUICClient.createQUICClient>>;
  try {
    client = await QUICClient.createQUICClient(
      {
        host: a.host,
        port: a.port,
        crypto: { ops: { randomBytes: async (b: ArrayBuffer) => void randomBytes(b.byteLength).copy(Buffer.from(b)) } },
        config: {
          ...(identity ? { key: identity.keyPem, cert: identity.certPem } : {}),
          applicationProtos: [a.alpn],
          verifyPeer: false,
          maxIdleTimeout: 3000,
        },
      },
      { timer: 3000 },
    );
  } catch (err) {
    const e = err as Error & { constructor?: { description?: string } };
    return { op: 'quic', connected: false, error: e.message || e.constructor?.description || String(err) };
  }
  // the handshake went through on our side (a TLS 1.3 client is done before the server has checked its
  // certificate): does the agent close the connection, or talk to us on a stream?
  let closedWith: string | undefined;
  client.connection.addEventListener(events.EventQUICConnectionError.name, (e: Event) => {
    const err = (e as unknown as { detail?: Error }).detail;
    closedWith ??= err?.message || (err?.constructor as { description?: string })?.description || 'closed';
  });
  const stream = client.connection.newStream('bidi');
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const answer = await Promise.race([
    (async () => {
      await writer.write(new Uint8Array([1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0])); // a Ping frame
      const r = await reader.read();
      return r.done ? 0 : (r.value?.byteLength ?? 0);
    })().catch(() => 0),
    new Promise<number>((r) => setTimeout(() => r(0), 1500)),
  ]);
  await client.destroy({ force: true }).catch(() => {});
  return { op: 'quic', connected: true, receivedBytes: answer, ...(closedWith ? { error: closedWith } : {}) };
}

function udp(a: Extract<Attack, { op: 'udp' }>): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = createSocket(a.host.includes(':') ? 'udp6' : 'udp4');
    let receivedBytes = 0;
    s.on('message', (m) => {
      receivedBytes += m.length;
    });
    s.on('error', () => {});
    s.bind(0, () => {
      for (const d of a.datagrams) s.send(Buffer.from(d, 'hex'), a.port, a.host);
      setTimeout(() => {
        s.close();
        resolve({ op: 'udp', receivedBytes });
      }, a.waitMs);
    });
  });
}

async function attack(a: Attack): Promise<Outcome> {
  switch (a.op) {
    case 'unix':
      return unix(a.path);
    case 'read':
      return read(a.path);
    case 'http':
      return http(a);
    case 'tcp':
      return tcp(a.host, a.port, Buffer.from(a.send, 'hex'), a.waitMs);
    case 'oracle':
      return oracle(a);
    case 'tls':
      return tls(a);
    case 'quic':
      return quic(a);
    case 'udp':
      return udp(a);
  }
}

const attacks = JSON.parse(readFileSync(0, 'utf8') || '[]') as Attack[];
// all at once (they are independent), outcomes in the order given
const out = await Promise.all(
  attacks.map((a) => attack(a).catch((err: unknown) => ({ op: a.op, error: errText(err) }))),
);
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
