import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProfiles } from './parse-profiles.ts';
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

test('attributes from YAML: port keys, quoted and unquoted range keys', () => {
  const [p] = parseProfiles(
    `version: 1
profiles:
  dev:
    host: dev
    attributes:
      3000: { label: web, on_forward: open-browser }
      "8000-8999": { label: api, require_local_port: true }
      9229-9230: { on_forward: ignore }
      8443: { on_forward: silent }
`,
    'p.yml',
    { home: '/h' },
  ).profiles;
  assert.ok(p);
  assert.deepEqual(p.attributes.for(3000), { label: 'web', onForward: 'open-browser', requireLocalPort: false });
  assert.deepEqual(p.attributes.for(8443), { label: 'api', onForward: 'silent', requireLocalPort: true });
  assert.deepEqual(p.attributes.for(9230), { onForward: 'ignore', requireLocalPort: false });
  assert.deepEqual(p.attributes.for(5173), NOTIFY);
});
