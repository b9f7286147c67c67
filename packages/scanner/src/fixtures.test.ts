import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ListeningSocket, socketKey } from '@port-linker/proto';
import { parseNetstatFreebsd, parseNetstatLinux, parseNetstatMacos } from './netstat-parser.ts';
import { parseProcNetFile } from './procfs-parser.ts';
import { parseRemoteScanOutput } from './remote-scan.ts';
import { type ParseResult, toScanResult } from './socket-rows.ts';
import { parseSockstat } from './sockstat-parser.ts';
import { parseSsOutput } from './ss-parser.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/scanner');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

const PARSERS: Record<string, (text: string, name: string) => ParseResult> = {
  procfs: (text, name) => parseProcNetFile(text, /-udp6?$/.test(name) ? 'udp' : 'tcp'),
  ss: (text) => parseSsOutput(text),
  'netstat-linux': (text) => parseNetstatLinux(text),
  'netstat-macos': (text) => parseNetstatMacos(text),
  'netstat-freebsd': (text) => parseNetstatFreebsd(text),
  sockstat: (text) => parseSockstat(text),
};

const expectedLinux = (JSON.parse(read('expected-linux.json')) as { sockets: ListeningSocket[] }).sockets;
const keys = (sockets: readonly ListeningSocket[]) => sockets.map(socketKey).sort();

describe('scanner fixtures: every <source>/<case>.txt parses to its .json', () => {
  for (const [source, parse] of Object.entries(PARSERS)) {
    const cases = readdirSync(join(ROOT, source)).filter((f) => f.endsWith('.txt'));
    test(`${source} has fixtures`, () => assert.ok(cases.length > 0));
    for (const file of cases) {
      const name = file.slice(0, -4);
      test(`${source}/${name}`, () => {
        const got = parse(read(`${source}/${file}`), name);
        const want = JSON.parse(read(`${source}/${name}.json`)) as ParseResult;
        assert.deepEqual(got, want);
        if (name.startsWith('malformed')) assert.ok(got.malformed > 0 && got.rows.length > 0, 'mixes good and bad');
      });
    }
  }
});

describe('Linux captures agree with the hand-written socket set', () => {
  test('procfs: all four files', () => {
    const parts = ['tcp', 'tcp6', 'udp', 'udp6'].map((f) =>
      parseProcNetFile(read(`procfs/debian12-${f}.txt`), f.startsWith('udp') ? 'udp' : 'tcp'),
    );
    const scan = toScanResult(parts);
    assert.deepEqual(keys(scan.sockets), keys(expectedLinux));
    assert.equal(scan.malformed, 0);
  });

  test('ss: separate and combined runs, with and without header, names included', () => {
    const separate = toScanResult([
      parseSsOutput(read('ss/debian12-tcp.txt')),
      parseSsOutput(read('ss/debian12-udp.txt')),
    ]);
    assert.deepEqual(separate.sockets, expectedLinux);
    assert.deepEqual(toScanResult(parseSsOutput(read('ss/debian12-tcp-udp.txt'))).sockets, expectedLinux);
    const header = toScanResult(parseSsOutput(read('ss/debian12-tcp-header.txt')));
    assert.deepEqual(
      header.sockets,
      expectedLinux.filter((s) => s.protocol === 'tcp'),
    );
    assert.equal(header.malformed, 0);
  });

  test('net-tools netstat: wide and narrow runs give the same sockets', () => {
    const wide = toScanResult([
      parseNetstatLinux(read('netstat-linux/debian12-tcp.txt')),
      parseNetstatLinux(read('netstat-linux/debian12-udp.txt')),
    ]);
    const narrow = toScanResult(parseNetstatLinux(read('netstat-linux/debian12-tcp-udp-narrow.txt')));
    assert.deepEqual(keys(wide.sockets), keys(expectedLinux));
    assert.deepEqual(wide.sockets, narrow.sockets);
    // net-tools names come from cmdline: python3.11 for the prctl-renamed helpers, cut at 20 columns.
    assert.equal(wide.sockets.find((s) => s.port === 7015)?.process, 'a-very-long-p');
  });

  test('agentless script output: procfs sections named through the fd and comm listings', () => {
    const scan = parseRemoteScanOutput(read('remote/debian12-procfs.txt'));
    assert.deepEqual(scan.sockets, expectedLinux);
    assert.deepEqual(scan, JSON.parse(read('remote/debian12-procfs.json')));
  });
});
