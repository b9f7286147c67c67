import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { runCli } from './support/cli-run.ts';

type Reply = { status: number; body: { error?: { code: string; message: string } } & Record<string, unknown> };

function call(socket: string, method: string, path: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: socket, method, path, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${path} within 10 s`)));
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** A daemon (the built CLI's, detached) with its own state dir; stopped and removed by the returned function. */
async function daemonIn(home: string) {
  const env = { PORT_LINKER_HOME: home, XDG_RUNTIME_DIR: undefined, PORT_LINKER_API: undefined };
  const start = await runCli(['daemon', 'start'], env);
  assert.equal(start.code, 0, start.stderr);
  const status = JSON.parse((await runCli(['daemon', 'status', '--json'], env)).stdout) as { pid: number };
  return { env, pid: status.pid, socket: join(home, 'daemon.sock'), stop: () => runCli(['daemon', 'stop'], env) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A host nothing answers for: the daemon saves it and keeps retrying. */
const downHost = (id: string) => ({ id, target: 'root@127.0.0.1:1', auto: false, ssh_options: ['ConnectTimeout=1'] });

describe('the state database: damaged, locked by another process, on a full disk', () => {
  test('a damaged file: the daemon starts on a new one and its log says where the old one went', async () => {
    const home = mkdtempSync(join(tmpdir(), 'pl-state-damaged-'));
    try {
      let d = await daemonIn(home);
      assert.equal((await call(d.socket, 'POST', '/v1/hosts', downHost('h1'))).status, 201);
      await d.stop();
      const db = join(home, 'state.db');
      const fd = openSync(db, 'r+');
      writeSync(fd, Buffer.alloc(100, 0x41), 0, 100, 0);
      closeSync(fd);
      d = await daemonIn(home);
      try {
        const log = readFileSync(join(home, 'daemon.log'), 'utf8');
        const moved =
          /the state database \S+ was damaged \(file is not a database\): moved it to (\S+) and started/.exec(log)?.[1];
        assert.ok(moved && existsSync(moved), log.slice(-600));
        assert.deepEqual((await call(d.socket, 'GET', '/v1/hosts')).body.hosts, []);
        assert.equal((await call(d.socket, 'POST', '/v1/hosts', downHost('h2'))).status, 201, 'the new file saves');
      } finally {
        await d.stop();
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test("another process's lock (BEGIN EXCLUSIVE): the daemon lives on, saves answer 503 state_locked, then save again", async () => {
    const home = mkdtempSync(join(tmpdir(), 'pl-state-locked-'));
    const d = await daemonIn(home);
    try {
      // a lease that expires during the lock: the daemon's sweep has to write while it cannot
      assert.equal((await call(d.socket, 'POST', '/v1/alloc', { service_name: 'short', ttl_seconds: 1 })).status, 200);
      const holder = spawn(
        process.execPath,
        [
          '-e',
          `const db = new (require('node:sqlite').DatabaseSync)(process.argv[1]); db.exec('BEGIN EXCLUSIVE'); console.log('locked'); process.stdin.on('end', () => { db.exec('COMMIT'); process.exit(0); }).resume();`,
          join(home, 'state.db'),
        ],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      await new Promise((r) => holder.stdout.once('data', r));
      try {
        await delay(2500);
        assert.ok(alive(d.pid), 'the daemon survived its lease sweep on a locked database');
        assert.equal((await call(d.socket, 'GET', '/v1/status')).status, 200);
        assert.equal((await call(d.socket, 'GET', '/v1/list')).status, 200, 'reads go on');
        const t0 = performance.now();
        const refused = await call(d.socket, 'POST', '/v1/alloc', { service_name: 'during' });
        assert.ok(performance.now() - t0 < 1500, 'refused within the short busy timeout');
        assert.equal(refused.status, 503);
        assert.equal(refused.body.error?.code, 'state_locked');
        assert.match(refused.body.error?.message ?? '', /state\.db is locked by another process/);
      } finally {
        holder.stdin.end();
        await new Promise((r) => holder.once('exit', r));
      }
      assert.equal((await call(d.socket, 'POST', '/v1/alloc', { service_name: 'after' })).status, 200);
      assert.match(readFileSync(join(home, 'daemon.log'), 'utf8'), /state\.db saves again/);
    } finally {
      await d.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('a full disk (a 2 MB tmpfs, as root): 507 disk_full, a host that cannot be saved is not run; once freed, saved', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('mounting a tmpfs needs root');
    const home = mkdtempSync(join(tmpdir(), 'pl-state-full-'));
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', home], { encoding: 'utf8' });
    if (mounted.status !== 0) {
      rmSync(home, { recursive: true, force: true });
      return t.skip(`mount: ${mounted.stderr.trim()}`);
    }
    try {
      const d = await daemonIn(home);
      try {
        assert.equal((await call(d.socket, 'POST', '/v1/hosts', downHost('kept'))).status, 201);
        assert.equal(
          (await call(d.socket, 'POST', '/v1/alloc', { service_name: 'short', ttl_seconds: 1 })).status,
          200,
        );
        const filler = join(home, 'filler');
        const fd = openSync(filler, 'a');
        for (let b = Buffer.alloc(64 * 1024); b.length > 0; ) {
          try {
            writeSync(fd, b);
          } catch {
            b = b.subarray(0, Math.floor(b.length / 2));
          }
        }
        closeSync(fd);
        let refused: Reply | undefined;
        for (let i = 0; i < 50 && (!refused || refused.status === 200); i++)
          refused = await call(d.socket, 'POST', '/v1/alloc', { service_name: 'full' }); // the WAL may hold a few
        assert.equal(refused?.status, 507);
        assert.equal(refused?.body.error?.code, 'disk_full');
        const host = await call(d.socket, 'POST', '/v1/hosts', downHost('new'));
        assert.equal(host.status, 507);
        assert.match(host.body.error?.message ?? '', /the disk is full/);
        const ids = ((await call(d.socket, 'GET', '/v1/hosts')).body.hosts as Array<{ id: string }>).map((h) => h.id);
        assert.deepEqual(ids, ['kept'], 'not saved, so not run');
        await delay(2000); // the expired lease: the sweep writes meanwhile
        assert.ok(alive(d.pid), 'the daemon survived its lease sweep on a full disk');
        unlinkSync(filler);
        assert.equal((await call(d.socket, 'POST', '/v1/hosts', downHost('new'))).status, 201);
        const db = new DatabaseSync(join(home, 'state.db'), { readOnly: true });
        const saved = (db.prepare('SELECT id FROM hosts ORDER BY id').all() as Array<{ id: string }>).map((r) => r.id);
        db.close();
        assert.deepEqual(saved, ['kept', 'new']);
      } finally {
        await d.stop();
      }
    } finally {
      spawnSync('umount', ['-l', home]);
      rmSync(home, { recursive: true, force: true });
    }
  });
});
