import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEndpoint } from './endpoint-text.ts';

test('parseEndpoint: ss / Linux netstat forms', () => {
  assert.deepEqual(parseEndpoint('0.0.0.0:22', ':', 0), { address: '0.0.0.0', port: 22 });
  assert.deepEqual(parseEndpoint('[::]:22', ':', 0), { address: '::', port: 22 });
  assert.deepEqual(parseEndpoint(':::22', ':', 6), { address: '::', port: 22 });
  assert.deepEqual(parseEndpoint('::1:631', ':', 6), { address: '::1', port: 631 });
  assert.deepEqual(parseEndpoint('*:8008', ':', 0), { address: '::', port: 8008 });
  assert.deepEqual(parseEndpoint('*:8008', ':', 4), { address: '0.0.0.0', port: 8008 });
  assert.deepEqual(parseEndpoint('127.0.0.53%lo:53', ':', 0), { address: '127.0.0.53', port: 53 });
  assert.deepEqual(parseEndpoint('[fe80::1]%eth0:546', ':', 0), { address: 'fe80::1', port: 546 });
  assert.deepEqual(parseEndpoint('[fe80::1%eth0]:546', ':', 0), { address: 'fe80::1', port: 546 });
  assert.deepEqual(parseEndpoint('[::ffff:127.0.0.1]:7006', ':', 0), { address: '127.0.0.1', port: 7006 });
  assert.deepEqual(parseEndpoint('[0:0::1]:80', ':', 0), { address: '::1', port: 80 });
});

test('parseEndpoint: BSD dotted forms', () => {
  assert.deepEqual(parseEndpoint('*.22', '.', 4), { address: '0.0.0.0', port: 22 });
  assert.deepEqual(parseEndpoint('*.22', '.', 46), { address: '::', port: 22 });
  assert.deepEqual(parseEndpoint('127.0.0.1.631', '.', 4), { address: '127.0.0.1', port: 631 });
  assert.deepEqual(parseEndpoint('fe80::1%lo0.5353', '.', 6), { address: 'fe80::1', port: 5353 });
});

test('parseEndpoint: not endpoints', () => {
  for (const bad of ['0.0.0.0:*', '*:*', '*.*', '0.0.0.0:0', '0.0.0.0:65536', 'host:80', ':80', '1.2.3:80', '']) {
    assert.equal(parseEndpoint(bad, bad.includes(':') ? ':' : '.', 0), undefined, bad);
  }
  assert.equal(parseEndpoint('::1:80', ':', 4), undefined, 'an IPv6 address on an IPv4-only row');
});
