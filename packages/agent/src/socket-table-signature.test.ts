import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { socketTableSignature } from './socket-table-signature.ts';

test('signature keeps the TCP/UDP counters, drops mem fields, and is undefined without sockstat', () => {
  const root = mkdtempSync(join(tmpdir(), 'pl-sockstat-'));
  try {
    assert.equal(socketTableSignature(root), undefined);
    mkdirSync(join(root, 'net'));
    writeFileSync(
      join(root, 'net', 'sockstat'),
      'sockets: used 44\nTCP: inuse 5 orphan 0 tw 26 alloc 45 mem 3\nUDP: inuse 1 mem 2\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n',
    );
    const read = socketTableSignature(root);
    assert.equal(read?.(), 'TCP: inuse 5\nUDP: inuse 1\n');
    writeFileSync(join(root, 'net', 'sockstat6'), 'TCP6: inuse 2\nUDP6: inuse 0\nRAW6: inuse 0\n');
    const read6 = socketTableSignature(root);
    assert.equal(read6?.(), 'TCP: inuse 5\nUDP: inuse 1\nTCP6: inuse 2\nUDP6: inuse 0\n');
    writeFileSync(join(root, 'net', 'sockstat'), 'TCP: inuse 6 orphan 0 tw 26 alloc 46 mem 3\nUDP: inuse 1 mem 9\n');
    assert.equal(read6?.(), 'TCP: inuse 6\nUDP: inuse 1\nTCP6: inuse 2\nUDP6: inuse 0\n', 're-read each call');
    writeFileSync(join(root, 'net', 'sockstat'), 'TCP: inuse 6 orphan 0 tw 3 alloc 46 mem 3\nUDP: inuse 1 mem 9\n');
    assert.equal(
      read6?.(),
      'TCP: inuse 6\nUDP: inuse 1\nTCP6: inuse 2\nUDP6: inuse 0\n',
      'TIME_WAIT expiry is no change',
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('on Linux a new listener moves the real signature; starting processes does not', {
  skip: process.platform !== 'linux',
}, async () => {
  const read = socketTableSignature('/proc');
  assert.ok(read);
  const before = read();
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    assert.notEqual(read(), before);
  } finally {
    server.close();
  }
  // other tests on this machine open sockets too: a few tries to see a quiet moment
  let quiet = false;
  for (let i = 0; i < 10 && !quiet; i++) {
    const before = read();
    spawnSync('sleep', ['0.01']);
    quiet = read() === before;
  }
  assert.ok(quiet, 'process churn (a dev box, CI) must not cost a full rescan');
});
