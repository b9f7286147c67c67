import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJsonPayload, ExecFrame, encodeFrame, encodeJsonFrame } from './exec-stream.ts';
import { FrameDecoder } from './frame-decoder.ts';

test('exec frames use the wire layout and round-trip through the frame decoder in any chunking', () => {
  const bytes = new Uint8Array([
    ...encodeJsonFrame(ExecFrame.OPEN, { target: 'h', command: 'ls' }),
    ...encodeFrame(ExecFrame.STDIN, new Uint8Array([1, 2, 3])),
    ...encodeFrame(ExecFrame.STDIN_EOF),
  ]);
  assert.deepEqual([...bytes.subarray(0, 5)], [ExecFrame.OPEN, 0, 0, 0, 29]);
  const d = new FrameDecoder();
  const frames = [...bytes].flatMap((b) => d.push(new Uint8Array([b])).map((f) => ({ ...f, payload: [...f.payload] })));
  assert.deepEqual(
    frames.map((f) => f.type),
    [ExecFrame.OPEN, ExecFrame.STDIN, ExecFrame.STDIN_EOF],
  );
  assert.deepEqual(decodeJsonPayload(Uint8Array.from(frames[0]?.payload ?? [])), { target: 'h', command: 'ls' });
  assert.deepEqual(frames[1]?.payload, [1, 2, 3]);
  assert.equal(decodeJsonPayload(new TextEncoder().encode('{nope')), undefined);
});
