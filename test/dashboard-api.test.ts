import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from './support/cli-run.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request to the dashboard; `headers.host` defaults to the listener's own `127.0.0.1:<port>`. */
function http(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers: { host: `127.0.0.1:${port}`, ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          text += d;
          // an event stream never ends: its first message is enough
          if (res.headers['content-type'] === 'text/event-stream' && text.includes('\n\n')) res.destroy();
        });
        const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
        res.on('end', done);
        res.on('close', done);
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${path} within 10 s`)));
    req.end(body);
  });
}

const code = (r: Reply): string => (JSON.parse(r.body) as { error: { code: string } }).error.code;

describe('dashboard: every request but the static page needs the session; each refusal', () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let port: number;
  let link: URL;
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'pl-dash-api-'));
    env = { PORT_LINKER_HOME: home, XDG_RUNTIME_DIR: undefined, DISPLAY: undefined, WAYLAND_DISPLAY: undefined };
    const start = await runCli(['daemon', 'start'], env);
    assert.equal(start.code, 0, start.stderr);
    const out = await runCli(['dashboard', '--no-open'], env);
    assert.equal(out.code, 0, out.stderr);
    link = new URL(out.stdout.trim());
    port = Number(link.port);
  });
  after(async () => {
    await runCli(['daemon', 'stop'], env).catch(() => {});
    rmSync(home, { recursive: true, force: true });
  });

  /** Trades a fresh one-time code for a session: the cookie header and the CSRF token. */
  async function session(): Promise<{ cookie: string; csrf: string }> {
    const out = await runCli(['dashboard', '--no-open'], env);
    const c = new URL(out.stdout.trim()).hash.replace('#token=', '');
    const r = await http(port, 'POST', '/session', { 'content-type': 'application/json' }, JSON.stringify({ code: c }));
    assert.equal(r.status, 200, r.body);
    const cookie = String(r.headers['set-cookie']).split(';')[0] as string;
    return { cookie, csrf: (JSON.parse(r.body) as { csrf: string }).csrf };
  }

  test('the link is loopback, with a one-time code in the fragment only', () => {
    assert.equal(link.hostname, '127.0.0.1');
    assert.equal(link.pathname, '/');
    assert.equal(link.search, '');
    assert.match(link.hash, /^#token=[\w-]{32}$/);
  });

  test('the page is served with a strict CSP and no inline script', async () => {
    const r = await http(port, 'GET', '/');
    assert.equal(r.status, 200);
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.doesNotMatch(r.body, /<script>|<script(?![^>]*\bsrc=)[^>]*>/);
    const js = await http(port, 'GET', '/assets/app.js');
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /javascript/);
  });

  test('no cookie: the API and the stream answer 401 and show no data', async () => {
    for (const path of ['/v1/hosts', '/v1/list', '/v1/status', '/v1/dashboard/stream']) {
      const r = await http(port, 'GET', path);
      assert.equal(r.status, 401, path);
      assert.equal(code(r), 'unauthorized');
    }
    const forged = await http(port, 'GET', '/v1/hosts', { cookie: 'pl_session=forged' });
    assert.equal(forged.status, 401);
  });

  test('a code works once; a wrong or missing code is refused', async () => {
    const c = link.hash.replace('#token=', '');
    const body = JSON.stringify({ code: c });
    const first = await http(port, 'POST', '/session', { 'content-type': 'application/json' }, body);
    assert.equal(first.status, 200, first.body);
    const cookie = String(first.headers['set-cookie']);
    assert.match(cookie, /^pl_session=[\w-]+; HttpOnly; SameSite=Strict; Path=\/$/);
    const again = await http(port, 'POST', '/session', { 'content-type': 'application/json' }, body);
    assert.equal(again.status, 401);
    assert.equal(code(again), 'bad_code');
    const wrong = await http(port, 'POST', '/session', { 'content-type': 'application/json' }, '{"code":"nope"}');
    assert.equal(code(wrong), 'bad_code');
    const none = await http(port, 'POST', '/session', { 'content-type': 'application/json' }, '{}');
    assert.equal(code(none), 'bad_code');
  });

  test('with the session: the API and the snapshot stream answer', async () => {
    const { cookie, csrf } = await session();
    const hosts = await http(port, 'GET', '/v1/hosts', { cookie });
    assert.equal(hosts.status, 200, hosts.body);
    assert.deepEqual(JSON.parse(hosts.body), { hosts: [] });
    const again = await http(port, 'GET', '/session', { cookie });
    assert.deepEqual(JSON.parse(again.body), { csrf });
    const stream = await http(port, 'GET', '/v1/dashboard/stream', { cookie });
    assert.equal(stream.status, 200);
    const snapshot = /event: snapshot\ndata: (.*)\n/.exec(stream.body);
    assert.ok(snapshot, stream.body);
    const state = JSON.parse(snapshot[1] as string) as { version: string; hosts: unknown[]; leases: unknown[] };
    assert.deepEqual([state.hosts, state.leases], [[], []]);
    assert.match(state.version, /^\d+\.\d+\.\d+/);
  });

  test('a state change needs POST and the CSRF token; other methods get 405', async () => {
    const { cookie, csrf } = await session();
    const body = JSON.stringify({ service: 'web' });
    const json = { cookie, 'content-type': 'application/json' };
    const noCsrf = await http(port, 'POST', '/v1/release', json, body);
    assert.equal(noCsrf.status, 403);
    assert.equal(code(noCsrf), 'bad_csrf');
    const wrongCsrf = await http(port, 'POST', '/v1/release', { ...json, 'x-csrf-token': `${csrf}x` }, body);
    assert.equal(code(wrongCsrf), 'bad_csrf');
    const ok = await http(port, 'POST', '/v1/release', { ...json, 'x-csrf-token': csrf }, body);
    assert.notEqual(ok.status, 403, ok.body);
    for (const method of ['DELETE', 'PUT', 'PATCH']) {
      const r = await http(port, method, '/v1/hosts/x', { ...json, 'x-csrf-token': csrf });
      assert.equal(r.status, 405, method);
    }
    // routes the page does not use are not served at all, session or not
    const shutdown = await http(port, 'POST', '/v1/shutdown', { ...json, 'x-csrf-token': csrf }, '{}');
    assert.equal(shutdown.status, 404);
    const status = await runCli(['daemon', 'status', '--json'], env);
    assert.equal(status.code, 0, 'the daemon still runs');
  });

  test('a foreign Host (DNS rebinding) or Origin (another site) is refused, even with the session', async () => {
    const { cookie } = await session();
    for (const host of [`evil.example:${port}`, `127.0.0.1:${port + 1}`, 'localhost']) {
      const r = await http(port, 'GET', '/v1/hosts', { cookie, host });
      assert.equal(r.status, 403, host);
      assert.equal(code(r), 'bad_host');
    }
    const page = await http(port, 'GET', '/', { host: `evil.example:${port}` });
    assert.equal(page.status, 403, 'even the static page is not served to a rebound name');
    for (const origin of ['http://evil.example', `http://localhost:${port + 1}`, 'null']) {
      const r = await http(port, 'GET', '/v1/hosts', { cookie, origin });
      assert.equal(r.status, 403, origin);
      assert.equal(code(r), 'bad_origin');
    }
    const same = await http(port, 'GET', '/v1/hosts', { cookie, origin: `http://127.0.0.1:${port}` });
    assert.equal(same.status, 200);
  });

  test('the listener is on loopback only', async () => {
    const status = JSON.parse((await runCli(['daemon', 'status', '--json'], env)).stdout) as Record<string, unknown>;
    assert.ok(status.pid);
    // a connection to a non-loopback address of this machine is refused (nothing listens there)
    const { networkInterfaces } = await import('node:os');
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (!external) return; // no external interface here: loopback is all there is
    await assert.rejects(
      new Promise((resolve, reject) => {
        const req = request({ host: external, port, path: '/' }, resolve);
        req.on('error', reject);
        req.end();
      }),
      /ECONNREFUSED/,
    );
  });
});
