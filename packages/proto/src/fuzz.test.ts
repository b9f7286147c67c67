import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzzDecoder } from './fuzz.ts';

test('fuzz: 100k random and mutated frames give only ProtocolError, memory stays bounded', () => {
  const r = fuzzDecoder({ iterations: 100_000, seed: 12345, maxFrameLength: 64 * 1024 });
  assert.equal(r.foreignErrors, 0, r.firstForeign);
  assert.ok(r.maxBuffered <= 64 * 1024 + 5 + 4096, `buffered ${r.maxBuffered}`);
  assert.ok(r.decoded > 1000, 'mutations still produce valid messages');
  assert.ok(r.protocolErrors > 1000, 'mutations produce protocol errors');
});
