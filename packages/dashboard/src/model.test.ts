import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type DashboardState,
  type ForwardView,
  formatBytes,
  formatSpan,
  forwardRows,
  goneHosts,
  type HostView,
  leaseSecondsLeft,
  matches,
  sparklinePoints,
  TrafficHistory,
} from './model.ts';

function forward(port: number, over: Partial<ForwardView['spec']> = {}, bytes = 0): ForwardView {
  return {
    spec: {
      key: `tcp:0.0.0.0:${port}`,
      protocol: 'tcp',
      remoteHost: '0.0.0.0',
      remotePort: port,
      wantedLocalPort: port,
      process: 'node',
      ...over,
    },
    localPort: port,
    addresses: ['127.0.0.1'],
    stats: { open: 1, total: 3, failed: 0, bytesIn: bytes, bytesOut: 0 },
  };
}

function host(id: string, forwards: ForwardView[], stopped: ForwardView['spec'][] = []): HostView {
  return {
    id,
    target: `dev@${id}`,
    state: 'connected',
    since: 0,
    reconnects: 0,
    forwards,
    stopped,
    history: [],
    spec: { target: `dev@${id}` },
  };
}

describe('dashboard model', () => {
  test('forward rows: running in port order, then stopped ones; links for TCP only', () => {
    const udp = forward(53, { key: 'udp:0.0.0.0:53', protocol: 'udp' });
    const stopped = { ...forward(9000).spec, key: 'tcp:0.0.0.0:9000' };
    const state: DashboardState = {
      version: '0.1.0',
      hosts: [host('a', [forward(8080, { label: 'web' }), forward(3000), udp], [stopped]), host('b', [forward(5432)])],
      leases: [],
    };
    const rows = forwardRows(state);
    assert.deepEqual(
      rows.map((r) => [r.id, r.running, r.link]),
      [
        ['a|udp:0.0.0.0:53', true, undefined],
        ['a|tcp:0.0.0.0:3000', true, 'http://localhost:3000/'],
        ['a|tcp:0.0.0.0:8080', true, 'http://localhost:8080/'],
        ['a|tcp:0.0.0.0:9000', false, undefined],
        ['b|tcp:0.0.0.0:5432', true, 'http://localhost:5432/'],
      ],
    );
    assert.equal(rows[2]?.label, 'web');
    assert.equal(rows[2]?.remote, '0.0.0.0:8080');
    const v6 = forwardRows({ ...state, hosts: [host('c', [forward(1, { remoteHost: '::1' })])] });
    assert.equal(v6[0]?.remote, '[::1]:1');
  });

  test('a forward carried by OpenSSH keeps its plane on the row (the page says "not counted", not 0 B)', () => {
    const rows = forwardRows({
      version: '',
      hosts: [host('a', [{ ...forward(8080), plane: 'openssh' }, forward(3000)])],
      leases: [],
    });
    assert.deepEqual(
      rows.map((r) => [r.localPort, r.plane]),
      [
        [3000, undefined],
        [8080, 'openssh'],
      ],
    );
  });

  test('a forward bound to another local address links to that address', () => {
    const f = { ...forward(8080), addresses: ['127.0.0.2'] };
    const rows = forwardRows({ version: '', hosts: [host('a', [f])], leases: [] });
    assert.equal(rows[0]?.link, 'http://127.0.0.2:8080/');
  });

  test('filter: every word must appear in some field, case-insensitive', () => {
    assert.equal(matches('', 'anything'), true);
    assert.equal(matches('WEB 80', 'web', 8080, 'node'), true);
    assert.equal(matches('web postgres', 'web', 8080), false);
    assert.equal(matches('x', undefined, 'y'), false);
  });

  test('traffic history: rates per second from counters; bursts count once; gone forwards are forgotten', () => {
    const t = new TrafficHistory(3);
    const rows = (bytes: number) =>
      forwardRows({ version: '', hosts: [host('a', [forward(1, {}, bytes)])], leases: [] });
    t.sample(rows(0), 0);
    t.sample(rows(1000), 1000);
    t.sample(rows(1500), 1100); // 100 ms later: a burst, not a sample
    t.sample(rows(4000), 2000);
    const id = 'a|tcp:0.0.0.0:1';
    assert.deepEqual(t.rates(id), [1000, 3000]);
    t.sample(rows(4000), 3000);
    t.sample(rows(4000), 4000);
    assert.deepEqual(t.rates(id), [3000, 0, 0], 'only the last 3 samples are kept');
    t.sample([], 5000);
    assert.deepEqual(t.rates(id), []);
  });

  test('sparkline: the largest value at the top, the first at x=0 and the last at the width', () => {
    assert.equal(sparklinePoints([], 60, 16), '');
    assert.equal(sparklinePoints([0, 10], 60, 16), '0.0,15.5 60.0,0.5');
    assert.equal(sparklinePoints([0], 60, 16), '0.0,15.5');
  });

  test('formats', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(50 * 1024 * 1024), '50 MiB');
    assert.equal(formatSpan(4_000), '4 s');
    assert.equal(formatSpan(-180_000), '3 min');
    assert.equal(formatSpan(7_200_000), '2 h');
    assert.equal(formatSpan(3 * 86_400_000), '3 d');
    const lease = { port: 1, service_name: 's', ttl_seconds: 60, expires_at: new Date(10_000).toISOString() };
    assert.equal(leaseSecondsLeft(lease, 4_000), 6);
    assert.equal(leaseSecondsLeft(lease, 20_000), 0);
  });

  test('gone hosts: seen before, absent now', () => {
    const a = host('a', []);
    const b = host('b', []);
    const previous = new Map([
      ['a', a],
      ['b', b],
    ]);
    const gone = goneHosts(previous, { version: '', hosts: [a], leases: [] });
    assert.deepEqual([...gone.keys()], ['b']);
  });
});
