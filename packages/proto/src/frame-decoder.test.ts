import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProtocolError } from './errors.ts';
import { FrameDecoder } from './frame-decoder.ts';
import { MessageDecoder } from './message-decoder.ts';
import { encodeMessage } from './messages.ts';
import { prng, sampleMessages } from './test-messages.ts';

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

const stream = concat(sampleMessages().map(encodeMessage));
const expected = sampleMessages();

describe('FrameDecoder: any chunking yields the same frames', () => {
  test('all types back to back in one chunk', () => {
    const d = new MessageDecoder();
    assert.deepEqual(d.push(stream), expected);
    d.end();
  });

  test('1-byte chunks', () => {
    const d = new MessageDecoder();
    const got = [];
    for (let i = 0; i < stream.byteLength; i++) got.push(...d.push(stream.subarray(i, i + 1)));
    assert.deepEqual(got, expected);
    d.end();
  });

  test('split at every byte position into two chunks', () => {
    for (let cut = 0; cut <= stream.byteLength; cut++) {
      const d = new MessageDecoder();
      const got = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      assert.deepEqual(got, expected, `cut at ${cut}`);
    }
  });

  test('random split points, 200 seeds', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rnd = prng(seed);
      const d = new MessageDecoder();
      const got = [];
      for (let i = 0; i < stream.byteLength; ) {
        const n = 1 + Math.floor(rnd() * 64);
        got.push(...d.push(stream.subarray(i, i + n)));
        i += n;
      }
      assert.deepEqual(got, expected, `seed ${seed}`);
      assert.equal(d.bufferedBytes, 0);
    }
  });

  test('a frame in one chunk is returned without copying; a split one is copied once', () => {
    const frame = encodeMessage({ type: 'UdpPacket', srcPort: 1, dstPort: 2, id: 3, data: new Uint8Array(32768) });
    const whole = new FrameDecoder().push(frame);
    assert.equal(whole[0]?.payload.buffer, frame.buffer);
    const d = new FrameDecoder();
    d.push(frame.subarray(0, 100));
    const split = d.push(frame.subarray(100));
    assert.equal(split[0]?.payload.byteLength, 32768 + 8);
    assert.notEqual(split[0]?.payload.buffer, frame.buffer);
  });
});

describe('FrameDecoder: violations fail fast with ProtocolError', () => {
  test('an oversized header throws at once, before the payload arrives', () => {
    const d = new FrameDecoder({ maxFrameLength: 1024 });
    assert.throws(() => d.push(Uint8Array.of(0x00, 0, 0, 4, 1)), /length 1025 exceeds max 1024/);
    assert.throws(() => d.push(new Uint8Array(1)), ProtocolError, 'a failed decoder stays failed');
  });

  test('0xffffffff length is rejected with the default bound', () => {
    assert.throws(() => new FrameDecoder().push(Uint8Array.of(1, 0xff, 0xff, 0xff, 0xff)), ProtocolError);
  });

  test('stream ending inside a header', () => {
    const d = new FrameDecoder();
    d.push(Uint8Array.of(1, 0));
    assert.throws(() => d.end(), /inside a frame: 2 of 5 header bytes/);
  });

  test('stream ending inside a payload', () => {
    const d = new FrameDecoder();
    d.push(encodeMessage({ type: 'Ping', value: 1n }).subarray(0, 9));
    assert.throws(() => d.end(), /partial Ping frame/);
  });

  test('unknown types with a sane length are skipped and reported', () => {
    const d = new MessageDecoder();
    const out = d.push(concat([Uint8Array.of(0x33, 0, 0, 0, 2, 9, 9), encodeMessage({ type: 'Pong', value: 5n })]));
    assert.deepEqual(out, [
      { type: 'Unknown', typeByte: 0x33, length: 2 },
      { type: 'Pong', value: 5n },
    ]);
  });
});
