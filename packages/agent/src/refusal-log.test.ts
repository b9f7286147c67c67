import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RefusalLog } from './refusal-log.ts';

test('a flood of refusals is one line, then one summary line per window', async () => {
  const said: string[] = [];
  const log = new RefusalLog((l) => said.push(l), 100);
  for (let i = 0; i < 10_000; i++) log.refused(`refused a quic peer: bad certificate ${i}`);
  assert.deepEqual(said, ['refused a quic peer: bad certificate 0']);
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(said.slice(1), ['9999 more like it in 0.1 s, the last: refused a quic peer: bad certificate 9999']);
  log.refused('refused a quic peer: later');
  assert.equal(said.at(-1), 'refused a quic peer: later');
  log.close();
  assert.equal(said.length, 3);
});
