import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ControlClient } from '../packages/client/src/index.ts';
import { Daemon, daemonPaths } from '../packages/daemon/src/index.ts';
import { runCli } from './support/cli-run.ts';
import { eventSchemaError } from './support/event-schema.ts';

/** Sends raw bytes to the socket; resolves with whatever comes back before the daemon closes (or `ms` pass). */
function raw(path: string, bytes: string | Buffer, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(path);
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      got += d;
    });
    s.on('error', () => {});
    const t = setTimeout(() => s.destroy(), ms);
    s.on('close', () => {
      clearTimeout(t);
      resolve(got);
    });
    s.write(bytes);
  });
}

/** POSTs a body of `size` bytes in 64 KiB pieces, stopping when the daemon answers; resolves with the answer. */
async function uploadUntilAnswered(path: string, size: number): Promise<string> {
  const s = connect(path);
  let got = '';
  let closed = false;
  s.setEncoding('utf8').on('data', (d: string) => {
    got += d;
  });
  s.on('error', () => {});
  s.on('close', () => {
    closed = true;
  });
  await new Promise((r) => s.once('connect', r));
  s.write(`POST /v1/hosts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
  const piece = Buffer.alloc(64 * 1024, 'x');
  for (let sent = 0; sent < size && !got && !closed && !s.destroyed; sent += piece.length) {
    // the write's callback runs once it is flushed, or with an error once the daemon has closed the connection
    await new Promise<void>((r) => s.write(piece, () => r()));
  }
  for (let i = 0; i < 100 && !got && !closed; i++) await new Promise((r) => setTimeout(r, 20));
  s.destroy();
  return got;
}

/** A reply body: an error, or whatever the endpoint returns. */
type ApiBody = { error: { code: string; message: string } } & Record<string, unknown>;

/** One API call: status and parsed body. */
function call(path: string, method: string, url: string, body?: string): Promise<{ status: number; body: ApiBody }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: path, method, path: url, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${url} within 10 s`)));
    req.end(body);
  });
}

describe('the control API: nothing a client sends crashes or wedges the daemon', () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let socket: string;
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'pl-api-'));
    env = { PORT_LINKER_HOME: home, XDG_RUNTIME_DIR: undefined };
    const start = await runCli(['daemon', 'start'], env);
    assert.equal(start.code, 0, start.stderr);
    socket = JSON.parse((await runCli(['daemon', 'status', '--json'], env)).stdout).socket;
  });
  after(async () => {
    await runCli(['daemon', 'stop'], env).catch(() => {});
    rmSync(home, { recursive: true, force: true });
  });

  test('junk, truncated, huge and slow requests get 4xx or a close, and ls still answers', async () => {
    const slow: Socket[] = [];
    try {
      // 50 clients that send half a request and then nothing
      for (let i = 0; i < 50; i++) {
        const s = connect(socket);
        s.on('error', () => {});
        s.write('GET /v1/status HTTP/1.1\r\nHost: x\r\n');
        slow.push(s);
      }
      assert.match(await raw(socket, 'this is not http\r\n\r\n'), /^HTTP\/1\.1 400/);
      assert.match(await raw(socket, Buffer.from([0, 255, 1, 2, 3, 13, 10, 13, 10])), /^HTTP\/1\.1 400/);
      assert.match(
        await raw(socket, `GET /v1/status HTTP/1.1\r\nX: ${'a'.repeat(100_000)}\r\n\r\n`),
        /^HTTP\/1\.1 431/,
      );
      await raw(socket, 'POST /v1/hosts HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"tar', 300); // truncated
      assert.match(await uploadUntilAnswered(socket, 2_000_000), /^HTTP\/1\.1 413/);
      const bad = await call(socket, 'POST', '/v1/hosts', '{"target": ');
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'bad_json');
      const wrong = await call(socket, 'POST', '/v1/hosts', JSON.stringify({ target: 'x', protocol: 'tpc' }));
      assert.deepEqual(wrong, {
        status: 400,
        body: { error: { code: 'bad_host', message: 'protocol: must be one of tcp, udp, both' } },
      });
      assert.equal((await call(socket, 'POST', '/v1/hosts', '[1,2]')).status, 400);
      assert.equal((await call(socket, 'GET', '/v1/nope')).body.error.code, 'not_found');
      assert.equal((await call(socket, 'PUT', '/v1/hosts')).status, 405);
      assert.equal((await call(socket, 'DELETE', '/v1/hosts/nobody')).status, 404);
      assert.equal((await call(socket, 'DELETE', '/v1/hosts/%E0%A4%A')).status, 400);
      const ls = await runCli(['ls'], env, 10_000);
      assert.equal(ls.code, 0, ls.stderr);
      assert.match(ls.stdout, /no hosts in the daemon/);
    } finally {
      for (const s of slow) s.destroy();
    }
  });

  test('the socket is 0600 in a 0700 directory, and another local user cannot connect', async () => {
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    assert.equal(statSync(dirname(socket)).mode & 0o777, 0o700);
    const asNobody = () =>
      spawnSync(
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', 'socat', '-u', 'OPEN:/dev/null', `UNIX-CONNECT:${socket}`],
        {
          encoding: 'utf8',
          timeout: 10_000,
        },
      );
    const denied = asNobody();
    assert.notEqual(denied.status, 0);
    assert.match(denied.stderr, /Permission denied/);
    // even with the directory opened up, the socket's own mode keeps them out
    chmodSync(dirname(socket), 0o755);
    chmodSync(home, 0o755);
    try {
      const still = asNobody();
      assert.notEqual(still.status, 0);
      assert.match(still.stderr, /Permission denied/);
    } finally {
      chmodSync(dirname(socket), 0o700);
    }
    const ls = await runCli(['ls'], env, 10_000);
    assert.equal(ls.code, 0);
  });

  test('a second daemon for the same state dir names the running one', async () => {
    const second = await runCli(['daemon', 'run'], env, 20_000);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /^port-linker: error: a daemon already runs for .* \(pid \d+\)/);
    assert.equal(second.stderr.trim().split('\n').length, 1, second.stderr);
  });

  test('connect to a host that is down: exit 4 with the reason, the daemon keeps retrying; events stream over SSE; logs and disconnect', async () => {
    const client = new ControlClient(socket);
    const events: Record<string, unknown>[] = [];
    const stop = new AbortController();
    const streaming = client.events((e) => events.push(e), stop.signal);
    const target = 'root@127.0.0.1:1'; // nothing listens on port 1
    const r = await runCli(['connect', target, '-o', 'StrictHostKeyChecking=yes'], env, 30_000);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /root@127\.0\.0\.1:1: cannot connect: .*refused.* \(the daemon keeps retrying/i);
    const retrying = events.find((e) => e.event === 'reconnecting' && e.host === target);
    assert.ok(retrying, `a reconnecting event over SSE: ${JSON.stringify(events)}`);
    assert.equal(eventSchemaError(retrying), undefined, 'SSE events are the --json events (schema v1)');
    assert.match(String(retrying.error), /refused/i);
    const logs = await runCli(['logs', target], env, 10_000);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /WARN {2}root@127\.0\.0\.1:1: connect to root@127\.0\.0\.1:1 failed/);
    const gone = await runCli(['disconnect', target], env, 10_000);
    assert.equal(gone.code, 0, gone.stderr);
    assert.match((await runCli(['ls'], env)).stdout, /no hosts in the daemon/);
    stop.abort();
    await streaming;
  });
});

describe('a daemon of another version', () => {
  test('up and connect refuse it and say what to do; ls warns and answers', async () => {
    const home = mkdtempSync(join(tmpdir(), 'pl-version-'));
    const env = { PORT_LINKER_HOME: home, XDG_RUNTIME_DIR: undefined };
    const daemon = await Daemon.start({ paths: daemonPaths(env), version: '9.9.9', env: {} });
    try {
      const connectRun = await runCli(['connect', 'somewhere'], env, 20_000);
      assert.equal(connectRun.code, 1);
      assert.match(
        connectRun.stderr,
        /^port-linker: error: the daemon \(pid \d+\) is port-linker 9\.9\.9 and this is \S+: run `port-linker daemon stop` then retry/,
      );
      const ls = await runCli(['ls'], env, 20_000);
      assert.equal(ls.code, 0);
      assert.match(ls.stderr, /warning: the daemon .* is port-linker 9\.9\.9/);
    } finally {
      await daemon.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('daemon install', () => {
  test('writes a systemd --user unit that runs this CLI as `daemon run` for this state dir; uninstall removes it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'pl-install-'));
    const env = {
      PORT_LINKER_HOME: join(home, 'state'),
      XDG_CONFIG_HOME: join(home, 'config'),
      XDG_RUNTIME_DIR: undefined,
    };
    try {
      const r = await runCli(['daemon', 'install', '--no-start'], env, 20_000);
      assert.equal(r.code, 0, r.stderr);
      const unit = readFileSync(join(home, 'config/systemd/user/port-linker.service'), 'utf8');
      assert.match(
        unit,
        new RegExp(`^ExecStart=${process.execPath} \\S+/packages/cli/bin/port-linker\\.js daemon run$`, 'm'),
      );
      assert.match(unit, new RegExp(`^Environment=PORT_LINKER_HOME=${join(home, 'state')}$`, 'm'));
      const u = await runCli(['daemon', 'uninstall'], env, 20_000);
      assert.equal(u.code, 0, u.stderr);
      assert.throws(() => statSync(join(home, 'config/systemd/user/port-linker.service')), /ENOENT/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
