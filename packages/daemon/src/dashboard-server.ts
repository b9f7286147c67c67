import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError } from './api-error.ts';
import { apiServer, type Route } from './control-server.ts';

/** How long the one-time code in the printed URL can be traded for a session. */
const CODE_TTL_MS = 120_000;
/** Sessions kept (the oldest goes first); each `port-linker dashboard` makes one. */
const MAX_SESSIONS = 64;
const COOKIE = 'pl_session';

/**
 * The page may load only its own script and style and talk only to its own origin: no inline script, no eval, no
 * third-party anything, never framed.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const STATIC: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/assets/app.js': 'app.js',
  '/assets/app.css': 'app.css',
  '/assets/icon.svg': 'icon.svg',
};
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/** Where the built page is: next to the CLI bundle (dist/dashboard), or the repo's build when run from sources. */
export function dashboardAssetsDir(): string | undefined {
  // the standalone executable carries the page as SEA assets, written out on first use (cli/src/standalone-main.ts)
  const standalone = (globalThis as Record<symbol, unknown>)[Symbol.for('port-linker.standalone-assets')];
  if (typeof standalone === 'function') return join((standalone as () => string)(), 'dashboard');
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, 'dashboard'), // packages/cli/dist/main.js
    join(here, '..', 'dashboard'), // packages/cli/dist/chunks/*.js
    join(here, '..', '..', 'cli', 'dist', 'dashboard'), // packages/daemon/src (tests, tsx)
  ];
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The dashboard's web server, on loopback only. The printed URL carries a one-time code in its fragment (never sent
 * in a request line, so never in a log); the page trades it (`POST /session`) for an HttpOnly SameSite=Strict session
 * cookie and a CSRF token kept in memory. Every request but the page's own static files needs the cookie; every
 * state change needs POST, the cookie and the CSRF token; `Host` must name this loopback listener and `Origin`, when
 * sent, must be this page (DNS rebinding and cross-site requests are refused).
 */
export class DashboardServer {
  readonly #assets: string | undefined;
  readonly #codes = new Map<string, number>();
  /** session id -> CSRF token */
  readonly #sessions = new Map<string, string>();
  readonly #server: Server;
  #port = 0;

  private constructor(routes: Route[], assets: string | undefined, onError: (msg: string) => void) {
    this.#assets = assets;
    this.#server = apiServer([...this.#ownRoutes(), ...routes], onError, (req, res) => this.#guard(req, res));
  }

  /** Listens on `host:port` (port 0: any free one). */
  static async listen(
    address: { host: string; port: number },
    routes: Route[],
    onError: (msg: string) => void,
    assets = dashboardAssetsDir(),
  ): Promise<DashboardServer> {
    const d = new DashboardServer(routes, assets, onError);
    await new Promise<void>((resolve, reject) => {
      d.#server.once('error', reject);
      d.#server.listen({ host: address.host, port: address.port, exclusive: true }, () => {
        d.#server.off('error', reject);
        resolve();
      });
    });
    d.#port = (d.#server.address() as { port: number }).port;
    d.#server.on('error', (err) => onError(`dashboard: ${err.message}`));
    return d;
  }

  /** The page's address (no code). */
  get url(): string {
    const { address } = this.#server.address() as { address: string };
    return `http://${address.includes(':') ? `[${address}]` : address}:${this.#port}/`;
  }

  /** A fresh one-time code for the URL's fragment, valid for two minutes. */
  newCode(): { code: string; expiresInMs: number } {
    const now = Date.now();
    for (const [c, t] of this.#codes) if (t < now) this.#codes.delete(c);
    const code = randomBytes(24).toString('base64url');
    this.#codes.set(code, now + CODE_TTL_MS);
    return { code, expiresInMs: CODE_TTL_MS };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #session(req: IncomingMessage): string | undefined {
    const id = cookieOf(req, COOKIE);
    return id && this.#sessions.has(id) ? id : undefined;
  }

  #guard(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('cross-origin-opener-policy', 'same-origin');
    res.setHeader('cross-origin-resource-policy', 'same-origin');
    res.setHeader('cache-control', 'no-store');
    const host = req.headers.host ?? '';
    const m = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):(\d{1,5})$/i.exec(host);
    if (!m || Number(m[1]) !== this.#port)
      throw new ApiError(403, 'bad_host', `Host ${JSON.stringify(host)} is not this dashboard (open the printed URL)`);
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`)
      throw new ApiError(403, 'bad_origin', `Origin ${JSON.stringify(origin)} may not use the dashboard`);
    const path = (req.url ?? '/').split('?')[0] as string;
    if (req.method === 'GET' && path in STATIC) return; // the page's code: the same for everyone, no data
    if (req.method === 'POST' && path === '/session') return; // trades a one-time code
    if (req.method !== 'GET' && req.method !== 'POST')
      throw new ApiError(405, 'method_not_allowed', `${req.method}: the dashboard takes GET and POST only`);
    const session = this.#session(req);
    if (!session)
      throw new ApiError(401, 'unauthorized', 'no dashboard session: open the URL `port-linker dashboard` prints');
    if (req.method === 'POST') {
      const csrf = req.headers['x-csrf-token'];
      if (typeof csrf !== 'string' || !same(csrf, this.#sessions.get(session) as string))
        throw new ApiError(403, 'bad_csrf', 'a state change needs the X-CSRF-Token header of this session');
    }
  }

  #ownRoutes(): Route[] {
    const page: Route['handler'] = async (req, res) => {
      const path = (req.url ?? '/').split('?')[0] as string;
      const file = STATIC[path] as string;
      if (!this.#assets)
        throw new ApiError(503, 'not_built', 'the dashboard page is not built: run `npm run build` in the checkout');
      const body = readFileSync(join(this.#assets, file));
      res.writeHead(200, {
        'content-type': TYPES[file.split('.').pop() as string] ?? 'application/octet-stream',
        'content-length': body.length,
      });
      res.end(body);
    };
    return [
      ...Object.keys(STATIC).map((p) => ({
        method: 'GET',
        path: new RegExp(`^${p.replace(/[.]/g, '\\.')}$`),
        handler: page,
        streams: true,
      })),
      {
        method: 'POST',
        path: /^\/session$/,
        handler: async (_req, res, body) => {
          const code = (body as { code?: unknown } | undefined)?.code;
          const expires = typeof code === 'string' ? this.#codes.get(code) : undefined;
          if (typeof code === 'string') this.#codes.delete(code);
          if (expires === undefined || expires < Date.now())
            throw new ApiError(
              401,
              'bad_code',
              'this dashboard link is used or expired: run `port-linker dashboard` for a new one',
            );
          const id = randomBytes(32).toString('base64url');
          const csrf = randomBytes(24).toString('base64url');
          this.#sessions.set(id, csrf);
          while (this.#sessions.size > MAX_SESSIONS)
            this.#sessions.delete(this.#sessions.keys().next().value as string);
          res.setHeader('set-cookie', `${COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/`);
          return { csrf };
        },
      },
      {
        method: 'GET',
        path: /^\/session$/,
        handler: async (req) => ({ csrf: this.#sessions.get(this.#session(req) as string) }),
      },
    ];
  }
}
