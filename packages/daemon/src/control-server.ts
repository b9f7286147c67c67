import { timingSafeEqual } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { ApiError } from './api-error.ts';

/** Largest request body accepted (a host spec is a few hundred bytes). */
const MAX_BODY = 1024 * 1024;

/** One route's handler: the parsed JSON body (undefined for none) in, a JSON value out (or it streams itself). */
export type Handler = (req: IncomingMessage, res: ServerResponse, body: unknown, params: string[]) => Promise<unknown>;

export interface Route {
  method: string;
  /** Matched against the path without its query; groups become `params`. */
  path: RegExp;
  handler: Handler;
  /** The handler writes the response itself (SSE). */
  streams?: boolean;
}

function send(res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function fail(res: ServerResponse, err: unknown): void {
  if (err instanceof ApiError) send(res, err.status, { error: { code: err.code, message: err.message } });
  else send(res, 500, { error: { code: 'internal', message: (err as Error)?.message ?? String(err) } });
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY)
    throw new ApiError(413, 'too_large', `the request body is over ${MAX_BODY} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ApiError(413, 'too_large', `the request body is over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new ApiError(400, 'bad_json', `the body is not JSON: ${(err as Error).message}`);
  }
}

function decodeParam(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    throw new ApiError(400, 'bad_path', `the path has a malformed escape: ${p}`);
  }
}

/** Is something answering on this socket? */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * The control API's HTTP/1.1 server on a Unix socket (mode 0600: only its owner can connect). Hardened against its
 * clients: bounded headers, body and time to send a request; junk gets a 4xx; a failing handler gets a 500; nothing a
 * client sends reaches the process's error handlers.
 */
export async function listenControl(
  path: string,
  routes: Route[],
  onError: (msg: string) => void,
  onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
): Promise<Server> {
  const server = apiServer(routes, onError);
  // exec streams: only here, on the owner-only socket (never on the loopback TCP API or the dashboard)
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!onUpgrade) return socket.destroy();
    try {
      onUpgrade(req, socket, head);
    } catch (err) {
      onError(`upgrade ${req.url}: ${(err as Error)?.stack ?? err}`);
      socket.destroy();
    }
  });
  // a socket file left by a crashed daemon (we hold the lock, so nobody else uses it)
  if (await answers(path)) throw new Error(`something already answers on ${path}`);
  rmSync(path, { force: true });
  const umask = process.umask(0o177); // created 0600: no window where another user could connect
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // a deep backlog: a burst of exec streams (1,000 at once) must queue, not meet EAGAIN
      server.listen({ path, backlog: 4096 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(umask);
  }
  chmodSync(path, 0o600);
  server.on('error', (err) => onError(`control socket: ${err.message}`));
  return server;
}

/** Where the loopback TCP API listens: `127.0.0.1:3030`, `[::1]:3030`, `localhost:3030`. */
export function parseApiAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[(::1)\]|(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535)
    throw new Error(
      `--api ${text}: give a loopback address and port (127.0.0.1:3030 or [::1]:3030); nothing else is allowed`,
    );
  return { host: m[1] ?? (m[2] === 'localhost' ? '127.0.0.1' : (m[2] as string)), port };
}

/**
 * The same API on a loopback TCP port, for programs that cannot use a Unix socket. Every request needs
 * `Authorization: Bearer <token>` (the 0600 token file) and a `Host` naming a loopback address or localhost, and an
 * `Origin`, when there is one, of the same: a web page's request (DNS rebinding, cross-site) is refused.
 */
export async function listenApi(
  address: { host: string; port: number },
  token: string,
  routes: Route[],
  onError: (msg: string) => void,
): Promise<Server> {
  const expected = Buffer.from(`Bearer ${token}`);
  const loopbackHost = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(?::\d{1,5})?$/i;
  const guard = (req: IncomingMessage): void => {
    const host = req.headers.host ?? '';
    if (!loopbackHost.test(host))
      throw new ApiError(403, 'bad_host', `Host ${JSON.stringify(host)} is not this machine's loopback API`);
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let originHost = '';
      try {
        originHost = new URL(origin).host;
      } catch {}
      if (!loopbackHost.test(originHost))
        throw new ApiError(403, 'bad_origin', `Origin ${JSON.stringify(origin)} may not use the API`);
    }
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new ApiError(401, 'unauthorized', 'send Authorization: Bearer <the token in api-token in the state dir>');
  };
  const server = apiServer(routes, onError, guard);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address.host, port: address.port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => onError(`loopback API: ${err.message}`));
  return server;
}

/** The API's HTTP server over `routes`; `guard` may refuse a request (throw an ApiError) or set headers first. */
export function apiServer(
  routes: Route[],
  onError: (msg: string) => void,
  guard?: (req: IncomingMessage, res: ServerResponse) => void,
): Server {
  const server = createServer({
    maxHeaderSize: 16 * 1024,
    requestTimeout: 10_000,
    headersTimeout: 5_000,
    connectionsCheckingInterval: 1000, // Node checks those timeouts every 30 s by default
  });
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 4096; // exec streams hold theirs for the command's life
  server.on('request', (req, res) => {
    void (async () => {
      try {
        guard?.(req, res);
        const url = new URL(req.url ?? '/', 'http://daemon');
        const allowed: string[] = [];
        for (const r of routes) {
          const m = r.path.exec(url.pathname);
          if (!m) continue;
          if (r.method !== req.method) {
            allowed.push(r.method);
            continue;
          }
          const body = r.method === 'GET' || r.method === 'DELETE' ? undefined : await readBody(req);
          const result = await r.handler(req, res, body, m.slice(1).map(decodeParam));
          if (!r.streams)
            send(
              res,
              r.method === 'POST' && result && typeof result === 'object' && 'created' in result && result.created
                ? 201
                : 200,
              result,
            );
          return;
        }
        if (allowed.length > 0)
          throw new ApiError(405, 'method_not_allowed', `${req.method} ${url.pathname}: use ${allowed.join(' or ')}`);
        throw new ApiError(404, 'not_found', `no such endpoint: ${req.method} ${url.pathname} (see GET /v1/status)`);
      } catch (err) {
        if (!res.socket || res.socket.destroyed) return; // the client went away mid-request: nothing to answer
        if (!(err instanceof ApiError))
          onError(`request ${req.method} ${req.url} failed: ${(err as Error)?.stack ?? err}`);
        // a 413 leaves the body unread: Node discards it once the answer is sent (bounded by requestTimeout) and
        // keeps the connection, so the client's writes do not fail (EPIPE) before it has read the answer
        fail(res, err);
      }
    })().catch((err: unknown) => onError(`request ${req.method} ${req.url}: ${(err as Error)?.stack ?? err}`));
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    else socket.destroy();
  });
  return server;
}
