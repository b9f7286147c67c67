import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ListeningSocket } from '@port-linker/proto';
import { groupPorts } from './port-groups.ts';
import { diffScans } from './scan-diff.ts';
import { toScanResult } from './socket-rows.ts';

const s = (protocol: 'tcp' | 'udp', port: number, address: string, process = 'p'): ListeningSocket => ({
  protocol,
  port,
  address,
  process,
});

test('diffScans: added, removed, unchanged', () => {
  const a = [s('tcp', 22, '0.0.0.0'), s('tcp', 80, '::'), s('udp', 53, '127.0.0.1')];
  const b = [s('tcp', 22, '0.0.0.0'), s('udp', 53, '127.0.0.1'), s('tcp', 8080, '127.0.0.1')];
  assert.deepEqual(diffScans(a, b), { added: [s('tcp', 8080, '127.0.0.1')], removed: [s('tcp', 80, '::')] });
  assert.deepEqual(diffScans(b, b), { added: [], removed: [] });
  assert.deepEqual(diffScans([], a).added, [s('tcp', 22, '0.0.0.0'), s('tcp', 80, '::'), s('udp', 53, '127.0.0.1')]);
  assert.deepEqual(diffScans(a, []).removed.length, 3);
});

test('diffScans: same port on another address or protocol is a different entry', () => {
  const d = diffScans([s('tcp', 80, '0.0.0.0')], [s('tcp', 80, '::'), s('udp', 80, '0.0.0.0')]);
  assert.deepEqual(d.removed, [s('tcp', 80, '0.0.0.0')]);
  assert.deepEqual(d.added, [s('tcp', 80, '::'), s('udp', 80, '0.0.0.0')]);
});

test('diffScans: a process-name change is removed + added', () => {
  const d = diffScans([s('tcp', 3000, '127.0.0.1', 'node')], [s('tcp', 3000, '127.0.0.1', 'deno')]);
  assert.deepEqual(d, { removed: [s('tcp', 3000, '127.0.0.1', 'node')], added: [s('tcp', 3000, '127.0.0.1', 'deno')] });
});

test('toScanResult: one entry per key, sorted, deterministic process for duplicates', () => {
  const row = (port: number, address: string, process: string) => ({
    ...s('tcp', port, address, process),
    pid: 0,
    inode: 0,
  });
  const r = toScanResult([
    { rows: [row(80, '::', ''), row(80, '0.0.0.0', 'nginx-b'), row(22, '0.0.0.0', 'sshd')], malformed: 1 },
    { rows: [row(80, '0.0.0.0', 'nginx-a'), row(80, '::', 'nginx'), row(9, '127.0.0.1', '')], malformed: 2 },
  ]);
  assert.equal(r.malformed, 3);
  assert.deepEqual(r.sockets, [
    s('tcp', 9, '127.0.0.1', ''),
    s('tcp', 22, '0.0.0.0', 'sshd'),
    s('tcp', 80, '0.0.0.0', 'nginx-a'),
    s('tcp', 80, '::', 'nginx'),
  ]);
});

test('groupPorts: wildcard on both families is one forwardable port remembering both', () => {
  const [g, ...rest] = groupPorts([s('tcp', 80, '::', 'nginx'), s('tcp', 80, '0.0.0.0', 'nginx')]);
  assert.equal(rest.length, 0);
  assert.deepEqual(g, {
    protocol: 'tcp',
    port: 80,
    addresses: ['0.0.0.0', '::'],
    v4: true,
    v6: true,
    loopbackOnly: false,
    forwardable: true,
    process: 'nginx',
  });
});

test('groupPorts: loopback-only, specific-only, mixed, per protocol', () => {
  const groups = groupPorts([
    s('tcp', 5432, '::1', 'postgres'),
    s('tcp', 5432, '127.0.0.1', 'postgres'),
    s('tcp', 9000, '10.0.0.5', ''),
    s('tcp', 9000, 'fd00::5', 'api'),
    s('tcp', 7000, '10.0.0.5', 'x'),
    s('tcp', 7000, '127.0.0.2', 'x'),
    s('udp', 5432, '0.0.0.0', 'other'),
  ]);
  const by = (p: 'tcp' | 'udp', port: number) => groups.find((g) => g.protocol === p && g.port === port);
  assert.deepEqual(
    groups.map((g) => `${g.protocol}/${g.port}`),
    ['tcp/5432', 'tcp/7000', 'tcp/9000', 'udp/5432'],
  );
  assert.equal(by('tcp', 5432)?.loopbackOnly, true);
  assert.equal(by('tcp', 5432)?.forwardable, true);
  assert.deepEqual(by('tcp', 5432)?.addresses, ['127.0.0.1', '::1']);
  const specific = by('tcp', 9000);
  assert.equal(specific?.forwardable, false, 'specific non-loopback only: reported, not forwardable');
  assert.equal(specific?.loopbackOnly, false);
  assert.deepEqual(specific?.addresses, ['10.0.0.5', 'fd00::5']);
  assert.equal(specific?.process, 'api');
  assert.equal(by('tcp', 7000)?.forwardable, true, 'any 127.x makes it forwardable');
  assert.equal(by('tcp', 7000)?.loopbackOnly, false);
  assert.equal(by('udp', 5432)?.process, 'other');
});
