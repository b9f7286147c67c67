import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ForwardInfo } from '@port-linker/forward';
import { ApiError } from './api-error.ts';
import type { Lease } from './lease-registry.ts';
import { lookupService } from './service-lookup.ts';

const fwd = (
  remotePort: number,
  localPort: number,
  extra: { process?: string; label?: string; protocol?: 'tcp' | 'udp'; address?: string } = {},
): ForwardInfo =>
  ({
    spec: {
      key: `auto/${extra.protocol ?? 'tcp'}/${remotePort}`,
      origin: 'auto',
      protocol: extra.protocol ?? 'tcp',
      remoteHost: '127.0.0.1',
      remotePort,
      wantedLocalPort: remotePort,
      bind: ['127.0.0.1'],
      process: extra.process ?? '',
      ...(extra.label ? { label: extra.label } : {}),
    },
    localPort,
    addresses: [extra.address ?? '127.0.0.1'],
    stats: {},
  }) as unknown as ForwardInfo;

const lease = (port: number, service: string): Lease => ({
  port,
  service_name: service,
  ttl_seconds: 60,
  created_at: '2026-01-01T00:00:00.000Z',
  expires_at: '2026-01-01T00:01:00.000Z',
});

const code = (c: string) => (err: unknown) => err instanceof ApiError && err.code === c;

test('lookup order: lease, label, remote process, host:remote_port; tcp+udp of one port is one answer', () => {
  const hosts = [
    {
      host: 'a',
      forwards: [fwd(5432, 5432, { process: 'postgres' }), fwd(3000, 3001, { label: 'web', process: 'node' })],
    },
    {
      host: 'b',
      forwards: [fwd(53, 10053, { process: 'dnsd', protocol: 'udp' }), fwd(53, 10053, { process: 'dnsd' })],
    },
  ];
  assert.equal(lookupService('postgres', [], hosts).port, 5432);
  assert.equal(lookupService('postgres', [lease(8000, 'postgres')], hosts).kind, 'lease');
  assert.deepEqual(lookupService('web', [], hosts), {
    service_name: 'web',
    port: 3001,
    all_ports: [3001],
    kind: 'label',
    address: '127.0.0.1',
    url: 'http://127.0.0.1:3001',
    host: 'a',
    remote_port: 3000,
    protocol: 'tcp',
  });
  assert.equal(lookupService('node', [], hosts).port, 3001, 'a process name when no label matches');
  const dns = lookupService('dnsd', [], hosts);
  assert.deepEqual([dns.port, dns.protocol, dns.all_ports], [10053, 'tcp', [10053]]);
  assert.equal(lookupService('b:53', [], hosts).port, 10053);
  const two = lookupService('api', [lease(8001, 'api'), lease(8002, 'api')], hosts);
  assert.deepEqual([two.port, two.all_ports], [8001, [8001, 8002]]);
  assert.throws(() => lookupService('nothing', [], hosts), code('no_service'));
});

test('the same name on two hosts is ambiguous and lists them; per-host addresses make the URL', () => {
  const hosts = [
    { host: 'a', forwards: [fwd(6379, 6379, { process: 'redis-server', address: '127.0.0.2' })] },
    { host: 'b', forwards: [fwd(6379, 6380, { process: 'redis-server' })] },
  ];
  assert.throws(
    () => lookupService('redis-server', [], hosts),
    (err: unknown) => code('ambiguous')(err) && /a:6379, b:6379/.test((err as Error).message),
  );
  assert.equal(lookupService('a:6379', [], hosts).url, 'http://127.0.0.2:6379');
});
