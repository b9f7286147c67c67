import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PortAttributes } from './port-attributes.ts';

const NOTIFY = { onForward: 'notify', requireLocalPort: false };

test('empty attributes give every port the defaults', () => {
  const a = PortAttributes.empty();
  assert.equal(a.size, 0);
  assert.deepEqual(a.for(3000), NOTIFY);
  assert.deepEqual(new PortAttributes([]).for(1), NOTIFY);
});

test('ranges include both ends', () => {
  const a = new PortAttributes([{ low: 8000, high: 8999, label: 'api' }]);
  assert.equal(a.for(7999).label, undefined);
  assert.equal(a.for(8000).label, 'api');
  assert.equal(a.for(8999).label, 'api');
  assert.equal(a.for(9000).label, undefined);
});

test('the more specific entry wins: a port, then the narrower range, then file order', () => {
  const a = new PortAttributes([
    { low: 1, high: 65535, label: 'any', onForward: 'silent' },
    { low: 8000, high: 8999, label: 'api', requireLocalPort: true },
    { low: 8080, high: 8080, label: 'proxy', onForward: 'open-browser' },
    { low: 8000, high: 8099, label: 'api-low' },
    { low: 8050, high: 8149, label: 'api-mid' },
  ]);
  assert.deepEqual(a.for(8080), { label: 'proxy', onForward: 'open-browser', requireLocalPort: true });
  assert.deepEqual(a.for(8060), { label: 'api-low', onForward: 'silent', requireLocalPort: true });
  assert.deepEqual(a.for(8120), { label: 'api-mid', onForward: 'silent', requireLocalPort: true });
  assert.deepEqual(a.for(8500), { label: 'api', onForward: 'silent', requireLocalPort: true });
  assert.deepEqual(a.for(22), { label: 'any', onForward: 'silent', requireLocalPort: false });
});

test('a port beats a range written before it; equal entries go by file order', () => {
  const a = new PortAttributes([
    { low: 3000, high: 3000, label: 'first' },
    { low: 3000, high: 3000, label: 'second' },
  ]);
  assert.equal(a.for(3000).label, 'first');
  const b = new PortAttributes([
    { low: 2999, high: 3001, label: 'range' },
    { low: 3000, high: 3000, label: 'port' },
  ]);
  assert.equal(b.for(3000).label, 'port');
});

test('rules outside 1-65535 or upside down are refused', () => {
  assert.throws(() => new PortAttributes([{ low: 0, high: 10 }]), RangeError);
  assert.throws(() => new PortAttributes([{ low: 10, high: 65536 }]), RangeError);
  assert.throws(() => new PortAttributes([{ low: 20, high: 10 }]), RangeError);
});
