import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, lstatSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { listenUnix } from './local-bind.ts';

// Unit tests on real Unix sockets in a private temporary directory.
const dir = mkdtempSync(join(tmpdir(), 'pl-local-bind-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const sockPath = () => join(dir, `s${++n}.sock`);

async function close(server: Server): Promise<void> {
  if (!server.listening) return;
  server.close();
  await once(server, 'close');
}

/**
 * Leaves a socket file nobody listens on (a killed run's leftover): a child process binds it and is SIGKILLed, so
 * nothing gets to unlink it.
 */
async function staleSocket(path: string): Promise<void> {
  const code = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.stdout.write('up'))`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout, 'data');
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.ok(lstatSync(path).isSocket(), 'the stale socket file is left behind');
}

/** A connection handler that sends `text` and closes (resumed: pauseOnConnect would keep it open for ever). */
function reply(text: string): (c: Socket) => void {
  return (c) => {
    c.on('error', () => {});
    c.end(text);
    c.resume();
  };
}

/** Reads everything a new connection to `path` receives until the far side ends. */
async function readAll(path: string): Promise<string> {
  const c = connect(path);
  const chunks: Buffer[] = [];
  c.on('data', (d: Buffer) => chunks.push(d));
  await once(c, 'end');
  c.destroy();
  return Buffer.concat(chunks).toString();
}

function fileMode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe('listenUnix', () => {
  test('the socket file is created 0600 by default (StreamLocalBindMask 0177)', async () => {
    const path = sockPath();
    const before = process.umask();
    const s = await listenUnix(path, {}, () => {});
    assert.equal(process.umask(), before, 'the process umask is restored');
    assert.ok(statSync(path).isSocket());
    assert.equal(fileMode(path), 0o600);
    await close(s);
  });

  test('another mask gives 0666 less the mask', async () => {
    const path = sockPath();
    const s = await listenUnix(path, { mask: 0o022 }, () => {});
    assert.equal(fileMode(path), 0o644);
    await close(s);
    const p2 = sockPath();
    const s2 = await listenUnix(p2, { mask: 0o000 }, () => {});
    assert.equal(fileMode(p2), 0o666);
    await close(s2);
  });

  test('connections are handed to the callback, paused, and data flows', async () => {
    const path = sockPath();
    const accepted: Socket[] = [];
    const s = await listenUnix(path, {}, (sock) => {
      accepted.push(sock);
      assert.equal(sock.isPaused(), true, 'pauseOnConnect');
      sock.end('hello');
      sock.resume();
    });
    const c = connect(path);
    const chunks: Buffer[] = [];
    c.on('data', (d: Buffer) => chunks.push(d));
    await once(c, 'end');
    c.destroy();
    assert.equal(Buffer.concat(chunks).toString(), 'hello');
    assert.equal(accepted.length, 1);
    await close(s);
  });

  test('without unlink, a live listener at the path is never replaced (EADDRINUSE) and keeps answering', async () => {
    const path = sockPath();
    // the probe connection is cut at once: its reset is not this test's concern
    const live = createServer((c) => c.on('error', () => {}).end('live')).listen(path);
    await once(live, 'listening');
    await assert.rejects(
      listenUnix(path, {}, () => {}),
      { code: 'EADDRINUSE' },
    );
    assert.equal(await readAll(path), 'live', 'the old listener still owns the path');
    await close(live);
  });

  test('a path that is not a socket is refused with EEXIST and left alone, even with unlink', async () => {
    const path = join(dir, 'plain-file');
    writeFileSync(path, 'keep me');
    await assert.rejects(
      listenUnix(path, {}, () => {}),
      { code: 'EEXIST' },
    );
    await assert.rejects(
      listenUnix(path, { unlink: true }, () => {}),
      { code: 'EEXIST' },
    );
    assert.ok(statSync(path).isFile(), 'the file is not removed');
  });

  test('a stale socket file (nothing answers) is taken over without unlink', async () => {
    const path = sockPath();
    await staleSocket(path);
    const s = await listenUnix(path, {}, reply('new'));
    assert.equal(await readAll(path), 'new');
    assert.equal(fileMode(path), 0o600, 'the new file has the mask, not the old one');
    await close(s);
  });

  test('unlink (StreamLocalBindUnlink) removes the existing socket file, even a live one, and binds anew', async () => {
    const path = sockPath();
    await staleSocket(path);
    const first = await listenUnix(path, { unlink: true }, reply('one'));
    assert.equal(fileMode(path), 0o600);
    // first still listens: only unlink lets a new listener take the path
    const second = await listenUnix(path, { unlink: true }, reply('two'));
    assert.equal(await readAll(path), 'two', 'new connections reach the new listener');
    await close(second);
    await close(first);
  });

  test('closing the listener removes the socket file', async () => {
    const path = sockPath();
    const s = await listenUnix(path, {}, () => {});
    assert.ok(existsSync(path));
    await close(s);
    assert.equal(existsSync(path), false);
  });
});
