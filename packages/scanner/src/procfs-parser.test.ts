import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeProcAddress, parseProcNetFile, parseProcNetLine } from './procfs-parser.ts';

test('decodeProcAddress: little-endian words, as x86 and arm64 print them', () => {
  assert.equal(decodeProcAddress('0100007F'), '127.0.0.1');
  assert.equal(decodeProcAddress('00000000'), '0.0.0.0');
  assert.equal(decodeProcAddress('02004D0A'), '10.77.0.2');
  assert.equal(decodeProcAddress('00000000000000000000000001000000'), '::1');
  assert.equal(decodeProcAddress('00000000000000000000000000000000'), '::');
  assert.equal(decodeProcAddress('000077FD000000000000000002000000'), 'fd77::2');
  assert.equal(decodeProcAddress('0000000000000000FFFF00000100007F'), '127.0.0.1', 'IPv4-mapped becomes IPv4');
  assert.equal(decodeProcAddress('B80D0120000000000000000001000000'), '2001:db8::1');
});

test('decodeProcAddress: big-endian hosts print words in network order', () => {
  assert.equal(decodeProcAddress('7F000001', false), '127.0.0.1');
  assert.equal(decodeProcAddress('20010DB8000000000000000000000001', false), '2001:db8::1');
});

test('decodeProcAddress: not an address', () => {
  for (const bad of ['', '0100', '0100007G', '0100007F0', 'zz000000000000000000000000000000']) {
    assert.equal(decodeProcAddress(bad), undefined, bad);
  }
});

test('parseProcNetLine: listeners, non-listeners, headers, malformed', () => {
  const listen =
    '   2: 0100007F:1B5A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 22250 1 00000000ea7ca4f8 100 0 0 10 0';
  assert.deepEqual(parseProcNetLine(listen, 'tcp'), {
    protocol: 'tcp',
    port: 7002,
    address: '127.0.0.1',
    process: '',
    pid: 0,
    inode: 22250,
  });
  assert.equal(parseProcNetLine(listen, 'udp'), 'skip', 'state 0A is not an unconnected UDP socket');
  const established =
    '  10: 0100007F:1B59 0100007F:E07E 01 00000000:00000000 00:00000000 00000000     0        0 0 1 000000009490c023 20 0 0 10 -1';
  assert.equal(parseProcNetLine(established, 'tcp'), 'skip');
  assert.equal(parseProcNetLine('  sl  local_address rem_address   st tx_queue', 'tcp'), 'skip');
  assert.equal(parseProcNetLine('', 'tcp'), 'skip');
  assert.equal(parseProcNetLine('   0: 0100007F:1B5A 00000000:0000 0A', 'tcp'), 'malformed');
  const udp =
    ' 1828: 0100007F:1B5A 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 22252 2 00000000694acab1 0';
  assert.equal((parseProcNetLine(udp, 'udp') as { port: number }).port, 7002);
});

test('parseProcNetFile: counts malformed lines and reports each one', () => {
  const seen: string[] = [];
  const text = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 100 1 0 100 0 0 10 0',
    '   1: nothex:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 101 1 0 100 0 0 10 0',
  ].join('\n');
  const r = parseProcNetFile(text, 'tcp', (line) => seen.push(line));
  assert.equal(r.rows.length, 1);
  assert.equal(r.malformed, 1);
  assert.equal(seen.length, 1);
  assert.match(seen[0] ?? '', /nothex/);
});
