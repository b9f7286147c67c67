import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { coalesceWrites } from './write-coalescing.ts';

function recorder(): { stream: Writable; calls: number[][] } {
  const calls: number[][] = [];
  const stream = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _enc, cb) {
      calls.push([chunk.length]);
      cb();
    },
    writev(chunks, cb) {
      calls.push(chunks.map((c) => (c.chunk as Buffer).length));
      cb();
    },
  });
  return { stream, calls };
}

test('bulk writes of one tick leave as one writev, in order, with what follows them', async () => {
  const { stream, calls } = recorder();
  coalesceWrites(stream);
  stream.write(Buffer.alloc(32 * 1024));
  stream.write(Buffer.alloc(32 * 1024));
  stream.write(Buffer.alloc(28));
  assert.deepEqual(calls, [], 'held until the tick ends');
  await new Promise((r) => process.nextTick(r));
  assert.deepEqual(calls, [[32 * 1024, 32 * 1024, 28]]);
});

test('small writes go out at once, one call each', () => {
  const { stream, calls } = recorder();
  coalesceWrites(stream);
  stream.write(Buffer.alloc(100));
  stream.write(Buffer.alloc(60));
  assert.deepEqual(calls, [[100], [60]]);
});
