import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { encodeMessage } from '@port-linker/proto';
import { findHello, StdioAgentLink } from './agent-link.ts';

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

test('an agent that misses two pings makes the link say "quiet" once per silence; a frame ends the silence', async () => {
  const stdout = new PassThrough();
  const channel = {
    stdout,
    stdin: new PassThrough(),
    stderr: new PassThrough(),
    exit: new Promise<never>(() => {}),
    close() {},
  };
  const link = new StdioAgentLink(channel, 'node', { silenceTimeoutMs: 10_000, pingIntervalMs: 20 }, () => {});
  const quiet: string[] = [];
  link.on('quiet', (why: string) => quiet.push(why));
  try {
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(quiet.length, 1, 'once, not at every ping');
    assert.match(quiet[0] ?? '', /^agent quiet for \d+ s$/);
    stdout.write(encodeMessage({ type: 'Pong', value: 0n })); // heard from it: the silence is over
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(quiet.length, 2, 'a new silence after the frame says so again');
  } finally {
    await link.close().catch(() => {});
  }
});
