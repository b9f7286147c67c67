/**
 * The server side of the SOCKS handshake, for `-D` dynamic forwards (like `ssh -D`).
 *
 * Protocols (CONNECT only, no authentication):
 * - SOCKS5: RFC 1928, "SOCKS Protocol Version 5" (https://www.rfc-editor.org/rfc/rfc1928).
 * - SOCKS4: "SOCKS: A protocol for TCP proxy across firewalls", Ying-Da Lee
 *   (https://www.openssh.com/txt/socks4.protocol).
 * - SOCKS4a: "SOCKS 4A: A Simple Extension to SOCKS 4 Protocol", Ying-Da Lee
 *   (https://www.openssh.com/txt/socks4a.protocol).
 *
 * Hand-written on purpose: no maintained npm package serves SOCKS4, 4a and 5. The parser re-reads the (small, capped)
 * handshake buffer from its start on every chunk, so a handshake may arrive one byte at a time or pipelined with data.
 */
import type { Duplex } from 'node:stream';

/** Opens a stream to host:port on the far side (an SSH direct-tcpip channel, or net.connect for reverse dynamic). */
export type SocksDial = (host: string, port: number) => Promise<Duplex>;

export interface SocksRequestInfo {
  version: 4 | 5;
  host: string;
  port: number;
}

export interface SocksServeOptions {
  /** Ends a client that has not completed its request in time (default 10_000 ms; 0 or Infinity: no limit). */
  handshakeTimeoutMs?: number;
}

/** A failed SOCKS handshake: the message is one line naming what was wrong. */
export class SocksError extends Error {
  override name = 'SocksError';
  /** The parsed request, when the failure came after it (the dial failed or the client left while dialing). */
  readonly request?: SocksRequestInfo;
  constructor(message: string, options?: { cause?: unknown; request?: SocksRequestInfo }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.request) this.request = options.request;
  }
}

// SOCKS5 reply codes (RFC 1928 section 6).
const REP_SUCCEEDED = 0x00;
const REP_GENERAL_FAILURE = 0x01;
const REP_NOT_ALLOWED = 0x02;
const REP_HOST_UNREACHABLE = 0x04;
const REP_CONNECTION_REFUSED = 0x05;
const REP_COMMAND_NOT_SUPPORTED = 0x07;
const REP_ADDRESS_TYPE_NOT_SUPPORTED = 0x08;
// SOCKS4 reply codes (CD in the reply).
const SOCKS4_GRANTED = 0x5a;
const SOCKS4_REJECTED = 0x5b;

const SOCKS5_COMMANDS: Record<number, string> = { 1: 'CONNECT', 2: 'BIND', 3: 'UDP ASSOCIATE' };
const SOCKS4_COMMANDS: Record<number, string> = { 1: 'CONNECT', 2: 'BIND' };
const MAX_NAME = 255; // SOCKS4 user id and SOCKS4a domain, without the NUL

/** BND.ADDR 0.0.0.0, BND.PORT 0: clients ignore it for CONNECT. */
function socks5Reply(rep: number): Buffer {
  return Buffer.from([0x05, rep, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
}
function socks4Reply(cd: number): Buffer {
  return Buffer.from([0x00, cd, 0, 0, 0, 0, 0, 0]);
}

/** Thrown by the cursor when the handshake so far is a valid prefix: wait for more bytes. */
const INCOMPLETE = Symbol('incomplete');

/** A request we refuse: the one-line message and the reply to send before ending (none when the protocol has none). */
class Refusal {
  constructor(
    readonly message: string,
    readonly reply?: Buffer,
  ) {}
}

class Cursor {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  u8(): number {
    const b = this.buf[this.pos];
    if (b === undefined) throw INCOMPLETE;
    this.pos++;
    return b;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  bytes(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw INCOMPLETE;
    this.pos += n;
    return this.buf.subarray(this.pos - n, this.pos);
  }
  /** A NUL-terminated string of at most `max` bytes. */
  cstring(max: number, tooLong: () => Refusal): Buffer {
    const end = this.buf.indexOf(0, this.pos);
    if (end === -1 || end - this.pos > max) {
      if (this.buf.length - this.pos > max) throw tooLong();
      throw INCOMPLETE;
    }
    const s = this.buf.subarray(this.pos, end);
    this.pos = end + 1;
    return s;
  }
}

const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;

/** A domain as text, refusing empty names and control characters (the name goes into logs and an SSH request). */
function domainName(raw: Buffer, refuse: (why: string) => Refusal): string {
  if (raw.length === 0) throw refuse('an empty domain name');
  if (raw.some((b) => b < 0x20 || b === 0x7f)) throw refuse('a domain name with control characters');
  return raw.toString('utf8');
}

/** RFC 5952 text: lower-case hex, the longest run (2+) of zero groups as "::", no brackets. */
function formatIpv6(b: Buffer): string {
  const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const text = groups.map((g) => g.toString(16));
  if (best < 0) return text.join(':');
  return `${text.slice(0, best).join(':')}::${text.slice(best + bestLen).join(':')}`;
}

/** The SOCKS5 request after the method negotiation (RFC 1928 section 4). */
function parseSocks5Request(c: Cursor): SocksRequestInfo {
  const fail = (message: string, rep = REP_GENERAL_FAILURE) => new Refusal(message, socks5Reply(rep));
  const ver = c.u8();
  if (ver !== 0x05) throw fail(`SOCKS5 request has version ${hex(ver)}: expected 0x05`);
  const cmd = c.u8();
  c.u8(); // RSV
  const atyp = c.u8();
  let host: string;
  if (atyp === 0x01) host = [...c.bytes(4)].join('.');
  else if (atyp === 0x04) host = formatIpv6(c.bytes(16));
  else if (atyp === 0x03) host = domainName(c.bytes(c.u8()), (why) => fail(`SOCKS5 request has ${why}`));
  else {
    throw fail(
      `SOCKS5 address type ${hex(atyp)} is not supported: only IPv4 (1), domain name (3) and IPv6 (4)`,
      REP_ADDRESS_TYPE_NOT_SUPPORTED,
    );
  }
  const port = c.u16();
  if (cmd !== 0x01) {
    const name = SOCKS5_COMMANDS[cmd];
    const what = name ? `${name} (${cmd})` : hex(cmd);
    throw fail(`SOCKS5 command ${what} is not supported: only CONNECT`, REP_COMMAND_NOT_SUPPORTED);
  }
  return { version: 5, host, port };
}

/** A SOCKS4 or SOCKS4a request: VN CD DSTPORT DSTIP USERID NUL [DOMAIN NUL when DSTIP is 0.0.0.x, x != 0]. */
function parseSocks4Request(c: Cursor): SocksRequestInfo {
  const fail = (message: string) => new Refusal(message, socks4Reply(SOCKS4_REJECTED));
  c.u8(); // VN, 4 (checked by the caller)
  const cd = c.u8();
  const port = c.u16();
  const ip = c.bytes(4);
  c.cstring(MAX_NAME, () => fail(`SOCKS4 user id is longer than ${MAX_NAME} bytes`));
  let host = [...ip].join('.');
  if (ip[0] === 0 && ip[1] === 0 && ip[2] === 0 && ip[3] !== 0) {
    const raw = c.cstring(MAX_NAME, () => fail(`SOCKS4a domain name is longer than ${MAX_NAME} bytes`));
    host = domainName(raw, (why) => fail(`SOCKS4a request has ${why}`));
  }
  if (cd !== 0x01) {
    const name = SOCKS4_COMMANDS[cd];
    throw fail(`SOCKS4 command ${name ? `${name} (${cd})` : hex(cd)} is not supported: only CONNECT`);
  }
  return { version: 4, host, port };
}

function notSocks(first: number): Refusal {
  let hint = 'expected 0x04 (SOCKS4) or 0x05 (SOCKS5)';
  if (first >= 0x41 && first <= 0x5a) {
    hint = 'is this an HTTP client? use it as a SOCKS proxy, e.g. curl --socks5-hostname';
  } else if (first === 0x16) {
    hint = 'is this a TLS client? point it at the SOCKS proxy as a proxy, not as the server';
  }
  return new Refusal(`not a SOCKS request (first byte ${hex(first)}): ${hint}`);
}

function dialFailureCode(err: unknown): number {
  const text = `${err instanceof Error ? err.message : String(err)} ${(err as { code?: unknown } | null)?.code ?? ''}`;
  if (/connect failed|ECONNREFUSED/i.test(text)) return REP_CONNECTION_REFUSED;
  if (/prohibited/i.test(text)) return REP_NOT_ALLOWED;
  return REP_HOST_UNREACHABLE;
}

/**
 * Sends the last reply and closes: drains what the client still sends (so the close is not a reset that could lose
 * the reply), ends, then destroys once the reply is flushed. The error swallower goes away with the close.
 */
function endWith(client: Duplex, reply?: Buffer): void {
  if (client.destroyed) return;
  const ignore = () => {};
  client.on('error', ignore);
  client.once('close', () => client.off('error', ignore));
  client.resume();
  const done = () => client.destroy();
  if (reply) client.end(reply, done);
  else client.end(done);
}

/**
 * Negotiates with one SOCKS client on `client` (SOCKS5 with the no-auth method, CONNECT only; SOCKS4 and 4a CONNECT),
 * dials the requested host:port with `dial` (domain names unresolved, IP literals as text, IPv6 without brackets),
 * writes the success reply and resolves with the request and the dialed stream. Bytes the client sent after its
 * request are pushed back with client.unshift() for the caller's pipe. On a bad request, or a failed dial, writes the
 * protocol's failure reply where one exists, ends the client and rejects with a SocksError; a client that closes or
 * errors mid-handshake, or the handshake timeout, destroys the client and rejects. Never throws synchronously, never
 * leaves a listener or timer behind.
 */
export function serveSocks(
  client: Duplex,
  dial: SocksDial,
  options: SocksServeOptions = {},
): Promise<{ request: SocksRequestInfo; remote: Duplex }> {
  return new Promise((resolve, reject) => {
    const timeoutMs = options.handshakeTimeoutMs ?? 10_000;
    let buf: Buffer = Buffer.alloc(0);
    let phase: 'greeting' | 'socks5' | 'socks4' | 'dialing' = 'greeting';
    let settled = false;
    let request: SocksRequestInfo | undefined;
    let timer: NodeJS.Timeout | undefined;

    const stopReading = () => {
      clearTimeout(timer);
      client.off('readable', onReadable);
      client.off('end', onEnd);
    };
    const cleanup = () => {
      stopReading();
      client.off('error', onError);
      client.off('close', onClose);
    };
    /** The client went away (or timed out): destroy it and reject. */
    const abort = (message: string, cause?: unknown) => {
      if (settled) return;
      settled = true;
      cleanup();
      client.destroy();
      reject(new SocksError(message, { cause, ...(request && { request }) }));
    };
    /** Our refusal: reply, end the client, reject. */
    const refuse = (message: string, reply?: Buffer, cause?: unknown) => {
      if (settled) return;
      settled = true;
      cleanup();
      endWith(client, reply);
      reject(new SocksError(message, { cause, ...(request && { request }) }));
    };

    const during = () =>
      phase === 'dialing' ? 'while its destination was being dialed' : 'before completing its request';
    const onEnd = () => abort(`SOCKS client closed the connection ${during()}`);
    const onClose = () => abort(`SOCKS client connection closed ${during()}`);
    const onError = (err: Error) => abort(`SOCKS client connection failed ${during()}: ${err.message}`, err);

    /**
     * While dialing the client is not read (bytes it pipelines wait in its buffer, with backpressure), so only a
     * destroy or an error is seen here; a FIN from the client reaches the caller's pipe afterwards.
     */
    const startDial = (req: SocksRequestInfo) => {
      request = req;
      phase = 'dialing';
      let dialed: Promise<Duplex>;
      try {
        dialed = Promise.resolve(dial(req.host, req.port));
      } catch (err) {
        dialed = Promise.reject(err);
      }
      dialed.then(
        (remote) => {
          if (settled) {
            remote.destroy();
            return;
          }
          settled = true;
          cleanup();
          client.write(req.version === 5 ? socks5Reply(REP_SUCCEEDED) : socks4Reply(SOCKS4_GRANTED));
          resolve({ request: req, remote });
        },
        (err: unknown) => {
          const reply = req.version === 5 ? socks5Reply(dialFailureCode(err)) : socks4Reply(SOCKS4_REJECTED);
          const message = (err instanceof Error ? err.message : String(err)) || 'dial failed';
          refuse(message, reply, err);
        },
      );
    };

    /** Parses what has arrived; returns once it needs more bytes, has refused, or has started the dial. */
    const step = () => {
      for (;;) {
        const c = new Cursor(buf);
        if (phase === 'greeting') {
          const first = c.u8();
          if (first === 0x04) {
            phase = 'socks4';
            continue;
          }
          if (first !== 0x05) throw notSocks(first);
          const methods = c.bytes(c.u8());
          buf = buf.subarray(c.pos);
          if (!methods.includes(0x00)) {
            const offered = methods.length ? [...methods].map(hex).join(', ') : 'none';
            throw new Refusal(
              `SOCKS5 client offers no acceptable authentication method (offered: ${offered}): only no authentication (0x00)`,
              Buffer.from([0x05, 0xff]),
            );
          }
          client.write(Buffer.from([0x05, 0x00]));
          phase = 'socks5';
          continue;
        }
        const req = phase === 'socks5' ? parseSocks5Request(c) : parseSocks4Request(c);
        const rest = buf.subarray(c.pos);
        stopReading();
        if (rest.length > 0) client.unshift(rest);
        startDial(req);
        return;
      }
    };

    const onReadable = () => {
      while (!settled && phase !== 'dialing') {
        const chunk: Buffer | string | null = client.read();
        if (chunk === null) return;
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        buf = buf.length === 0 ? bytes : Buffer.concat([buf, bytes]);
        try {
          step();
        } catch (e) {
          if (e === INCOMPLETE) continue;
          if (e instanceof Refusal) refuse(e.message, e.reply);
          else abort(`SOCKS handshake failed: ${e instanceof Error ? e.message : String(e)}`, e);
        }
      }
    };

    if (client.destroyed || client.readableEnded) {
      settled = true;
      reject(new SocksError('SOCKS client connection was already closed'));
      return;
    }
    client.on('error', onError);
    client.on('close', onClose);
    client.on('end', onEnd);
    client.on('readable', onReadable);
    if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
      timer = setTimeout(() => abort(`SOCKS client did not complete its request within ${timeoutMs} ms`), timeoutMs);
    }
  });
}
