import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeMessage } from '@port-linker/proto';
import { findHello } from './agent-link.ts';

test('findHello finds the AgentHello frame after shell noise, and not in plain text', () => {
  const hello = encodeMessage({
    type: 'AgentHello',
    info: { version: '1', platform: 'linux', arch: 'x64', pid: 1, scanner: 'procfs', capabilities: [] },
  });
  assert.equal(findHello(hello), 0);
  const noise = Buffer.from('Welcome!\n\n{"version": 1}\n');
  assert.equal(findHello(Buffer.concat([noise, hello])), noise.byteLength);
  assert.equal(findHello(noise), -1);
  assert.equal(findHello(hello.subarray(0, 8)), -1, 'a hello cut short is not found yet');
});
