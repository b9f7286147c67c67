import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { socketTableSignature, tcpEvents } from './socket-table-signature.ts';

// child mode of the own-netns test at the end: print, exit, register no tests
if (process.env.PL_SIGNATURE_CANCEL_PROBE) {
  await cancelProbe();
  process.exit(0);
}

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
    writeFileSync(join(root, 'net', 'snmp'), SNMP);
    const withSnmp = socketTableSignature(root);
    assert.equal(withSnmp?.(), 'TCP: inuse 6\nUDP: inuse 1\nTCP6: inuse 2\nUDP6: inuse 0\nTcp: 362 200 157 11 3\n');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const SNMP = [
  'Ip: Forwarding DefaultTTL InReceives',
  'Ip: 1 64 9',
  'Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs',
  'Tcp: 1 200 120000 -1 362 200 157 11 3 70247 32326',
  'Udp: InDatagrams NoPorts',
  'Udp: 5 0',
  '',
].join('\n');

test('tcpEvents keeps the connection event counters of the Tcp line, not the per-packet ones', () => {
  assert.equal(tcpEvents(SNMP), 'Tcp: 362 200 157 11 3\n');
  assert.equal(tcpEvents(SNMP.replace('70247 32326', '99999 88888')), tcpEvents(SNMP), 'segments are not events');
  assert.equal(tcpEvents('Ip: 1\nIp: 2\n'), '');
  assert.equal(tcpEvents('Tcp: ActiveOpens\n'), '', 'a header without values');
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

/**
 * The case `inuse` alone missed (it failed CI): a connection closes (-1 per end) in the same tick as two listen()s
 * (+2). Run in a fresh network namespace of its own so that no other socket on the machine moves the counters.
 */
const isRoot = process.platform === 'linux' && process.getuid?.() === 0;
test('a connection closing in the same tick as new listeners still moves the signature (own netns)', {
  skip: isRoot ? false : 'needs root for unshare -n',
}, () => {
  const child = spawnSync(
    'unshare',
    ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" --import tsx "$1"', process.execPath, import.meta.filename],
    { env: { ...process.env, PL_SIGNATURE_CANCEL_PROBE: '1' }, encoding: 'utf8', timeout: 20_000 },
  );
  assert.equal(child.status, 0, child.stderr);
  const out = JSON.parse(child.stdout) as { before: string; after: string };
  const inuse = (sig: string) => sig.replace(/^Tcp:.*\n/m, '');
  assert.equal(inuse(out.after), inuse(out.before), `the counts cancel out: ${JSON.stringify(out)}`);
  assert.notEqual(out.after, out.before, 'but the connection event counters moved');
});

/** The child side of the test above: prints the signature before and after the close + listens. */
async function cancelProbe(): Promise<void> {
  const read = socketTableSignature('/proc');
  if (!read) throw new Error('no sockstat');
  const listen = async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return s;
  };
  const server = await listen();
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  const peer = await accepted;
  await new Promise((r) => setTimeout(r, 50));
  const before = read();
  const closed = Promise.all([client, peer].map((s) => new Promise((r) => s.once('close', r))));
  client.end();
  await closed;
  await new Promise((r) => setTimeout(r, 50)); // FIN/ACK done: both ends unhashed
  const added = [await listen(), await listen()];
  const after = read();
  for (const s of [server, ...added]) s.close();
  process.stdout.write(JSON.stringify({ before, after }));
}
