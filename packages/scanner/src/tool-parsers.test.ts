import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePsComm, toolCommands } from './command-scanner.ts';
import { shortProcessName } from './netstat-parser.ts';
import { parseSsOutput } from './ss-parser.ts';

test('parseSsOutput: process names with escaped quotes, old-style `*` for IPv4, other netids', () => {
  const text = [
    'Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process',
    'tcp   LISTEN 0      128    *:22              0.0.0.0:*         users:(("we\\"ird",pid=7,fd=3),("sshd",pid=8,fd=3))',
    'raw   UNCONN 0      0      *:58              *:*',
    'udp   UNCONN 0      0      *:5353            *:*',
  ].join('\n');
  assert.deepEqual(parseSsOutput(text), {
    malformed: 0,
    rows: [
      { protocol: 'tcp', port: 22, address: '0.0.0.0', process: 'we"ird', pid: 7, inode: 0 },
      { protocol: 'udp', port: 5353, address: '::', process: '', pid: 0, inode: 0 },
    ],
  });
});

test('shortProcessName: comm-like labels from tool output', () => {
  assert.equal(shortProcessName('sshd: /usr/sbin'), 'sshd');
  assert.equal(shortProcessName('/usr/bin/python3 -m http.server'), 'python3');
  assert.equal(shortProcessName('node'), 'node');
});

test('parsePsComm: macOS full paths with spaces', () => {
  const names = parsePsComm(
    '  455 /System/Library/CoreServices/ControlCenter.app/Contents/MacOS/ControlCenter\n 1771 /Applications/Google Chrome.app/Contents/MacOS/Google Chrome Helper\n',
  );
  assert.equal(names.get(455), 'ControlCenter');
  assert.equal(names.get(1771), 'Google Chrome Helper');
});

test('toolCommands: one run for ss and Linux netstat, one per protocol for BSD netstat, never a shell', () => {
  const both = { tcp: true, udp: true };
  assert.deepEqual(toolCommands('ss', 'linux', both)[0]?.variants, [
    ['ss', '-Htulnp'],
    ['ss', '-tulnp'],
  ]);
  assert.deepEqual(toolCommands('ss', 'linux', { tcp: false, udp: true })[0]?.variants[0], ['ss', '-Hulnp']);
  assert.deepEqual(toolCommands('netstat', 'linux', { tcp: true, udp: false })[0]?.variants, [
    ['netstat', '-tlnpW'],
    ['netstat', '-tlnp'],
  ]);
  const mac = toolCommands('netstat', 'macos', both);
  assert.deepEqual(
    mac.map((c) => c.variants[0]),
    [
      ['netstat', '-anvW', '-p', 'tcp'],
      ['netstat', '-anvW', '-p', 'udp'],
    ],
  );
  assert.deepEqual(toolCommands('netstat', 'freebsd', { tcp: true, udp: false })[0]?.variants[1], [
    'netstat',
    '-an',
    '-p',
    'tcp',
  ]);
  assert.deepEqual(toolCommands('sockstat', 'freebsd', both)[0]?.variants, [['sockstat', '-46l']]);
  assert.deepEqual(toolCommands('ss', 'linux', { tcp: false, udp: false }), []);
});
