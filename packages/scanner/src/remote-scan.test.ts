import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { ScannerError } from './errors.ts';
import { processLabel } from './process-label.ts';
import {
  parseArgv0Listing,
  parseCommListing,
  parseFdListing,
  parseRemoteScanOutput,
  REMOTE_MARKER,
  remoteScanScript,
} from './remote-scan.ts';

test('remoteScanScript: valid POSIX sh for every protocol choice, only the asked protocols', () => {
  for (const options of [
    { tcp: true, udp: true },
    { tcp: true, udp: false },
    { tcp: false, udp: true },
    { tcp: false, udp: false },
  ]) {
    const script = remoteScanScript(options);
    execFileSync('sh', ['-n'], { input: script }); // throws on a syntax error
    assert.equal(script.includes('tcp6'), options.tcp);
    assert.equal(script.includes('udp6'), options.udp);
  }
  const tcpOnly = remoteScanScript({ tcp: true, udp: false });
  assert.match(tcpOnly, /ss -Htlnp/);
  assert.match(tcpOnly, /netstat -anvW -p tcp/);
  assert.doesNotMatch(tcpOnly, /-p udp/);
});

test('remoteScanScript: run by sh here, its output parses to what the sh found', () => {
  const out = execFileSync('sh', ['-s'], { input: remoteScanScript({ tcp: true, udp: true }), encoding: 'utf8' });
  assert.match(out, new RegExp(`^${REMOTE_MARKER} procfs tcp$`, 'm'));
  assert.match(out, new RegExp(`^${REMOTE_MARKER} end$`, 'm'));
  const r = parseRemoteScanOutput(out);
  assert.equal(r.malformed, 0);
  for (const s of r.sockets) assert.ok(s.port > 0 && s.address !== '');
});

test('parseRemoteScanOutput: no markers, or no tool on the remote, is a ScannerError', () => {
  assert.throws(() => parseRemoteScanOutput('fish: Unknown command: pl_mark\n'), ScannerError);
  assert.throws(
    () => parseRemoteScanOutput(`${REMOTE_MARKER} begin 1\n${REMOTE_MARKER} none\n${REMOTE_MARKER} end\n`),
    /no readable \/proc\/net, no ss and no netstat/,
  );
  assert.deepEqual(parseRemoteScanOutput(`\n${REMOTE_MARKER} begin 1\n\n${REMOTE_MARKER} end\n`), {
    sockets: [],
    malformed: 0,
  });
});

test('parseRemoteScanOutput: ss and BSD sections', () => {
  const text = [
    `${REMOTE_MARKER} begin 1`,
    `${REMOTE_MARKER} ss`,
    'tcp LISTEN 0 128 127.0.0.1:5432 0.0.0.0:* users:(("postgres",pid=9,fd=5))',
    'bad line here',
    `${REMOTE_MARKER} netstat-macos udp`,
    'udp4       0      0  *.5353                 *.*',
    `${REMOTE_MARKER} end`,
  ].join('\n');
  assert.deepEqual(parseRemoteScanOutput(text), {
    malformed: 1,
    sockets: [
      { protocol: 'tcp', port: 5432, address: '127.0.0.1', process: 'postgres' },
      { protocol: 'udp', port: 5353, address: '0.0.0.0', process: '' },
    ],
  });
});

test('parseFdListing and parseCommListing', () => {
  const fds = parseFdListing(
    [
      '/proc/12/fd:',
      'lrwx------ 1 root root 64 Nov 23 02:53 3 -> socket:[500]',
      '/proc/13/fd:',
      'lrwx------ 1 root root 64 Nov 23 02:53 7 -> socket:[501]',
      'lrwx------ 1 root root 64 Nov 23 02:53 8 -> socket:[500]',
    ].join('\n'),
  );
  assert.deepEqual(
    [...fds],
    [
      [500, 12],
      [501, 13],
    ],
  );
  const comms = parseCommListing('==> /proc/12/comm <==\nsshd\n\n==> /proc/13/comm <==\nmy daemon\n');
  assert.deepEqual(
    [...comms],
    [
      [12, 'sshd'],
      [13, 'my daemon'],
    ],
  );
});

test('parseArgv0Listing; processLabel names thread-named and cut comms by the program in argv0', () => {
  assert.deepEqual(
    [...parseArgv0Listing('41 /usr/local/bin/node\n42 \njunk\n43 vite dev\n')],
    [
      [41, '/usr/local/bin/node'],
      [42, ''],
      [43, 'vite dev'],
    ],
  );
  assert.equal(processLabel('MainThread', '/usr/local/bin/node'), 'node'); // Node 24+ renames its main thread
  assert.equal(processLabel('MainThread', ''), 'MainThread');
  assert.equal(processLabel('MainThread', undefined), 'MainThread');
  assert.equal(processLabel('a-very-long-pro', '/opt/a-very-long-process-name'), 'a-very-long-process-name');
  assert.equal(processLabel('a-very-long-pro', '/usr/bin/python3'), 'a-very-long-pro');
  assert.equal(processLabel('postgres', '/usr/lib/postgresql/15/bin/postgres'), 'postgres');
});
