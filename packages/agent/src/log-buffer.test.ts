import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeMessage, type LogEvent, MessageDecoder } from '@port-linker/proto';
import { LOG_BATCH_BYTES, LogBuffer } from './log-buffer.ts';

describe('LogBuffer', () => {
  test('coalesces a burst into one batch at the end of the event-loop turn', async () => {
    const batches: LogEvent[][] = [];
    const logs = new LogBuffer('info', (e) => batches.push(e));
    logs.log('info', 'agent', 'one');
    logs.log('debug', 'agent', 'filtered out');
    logs.log('warn', 'agent', 'two');
    assert.equal(batches.length, 0);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      batches.map((b) => b.map((e) => e.message)),
      [['one', 'two']],
    );
  });

  test('flushes at once past 60 KB, and every batch frame stays under the bound and decodes', () => {
    const batches: LogEvent[][] = [];
    const logs = new LogBuffer('trace', (e) => batches.push(e));
    const line = 'x'.repeat(1000);
    for (let i = 0; i < 200; i++) logs.log('info', 'agent.test', `${i} ${line}`);
    assert.ok(batches.length >= 3, `flushed ${batches.length} times synchronously`);
    logs.flush();
    const all = batches.flat();
    assert.equal(all.length, 200);
    assert.equal(all[199]?.message.startsWith('199 '), true);
    for (const b of batches) {
      const frame = encodeMessage({ type: 'LogBatch', events: b });
      assert.ok(frame.byteLength <= LOG_BATCH_BYTES + 5 + 2, `frame ${frame.byteLength} B`);
      const [m] = new MessageDecoder().push(frame);
      assert.equal(m?.type, 'LogBatch');
    }
    logs.dispose();
  });

  test('while the output is congested events wait; past 1 MiB the oldest are dropped and counted', () => {
    const batches: LogEvent[][] = [];
    let open = false;
    const logs = new LogBuffer(
      'info',
      (e) => batches.push(e),
      () => open,
    );
    const line = 'y'.repeat(10_000);
    for (let i = 0; i < 200; i++) logs.log('info', 'agent', `${i} ${line}`);
    assert.equal(batches.length, 0);
    open = true;
    logs.flush();
    const all = batches.flat();
    assert.match(all[0]?.message ?? '', /^dropped \d+ log events$/);
    assert.equal(all.at(-1)?.message.startsWith('199 '), true);
    assert.ok(all.length < 201);
    logs.dispose();
  });
});
