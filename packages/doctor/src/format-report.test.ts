import assert from 'node:assert/strict';
import { test } from 'node:test';
import { humanRow, humanSummary, jsonLine } from './format-report.ts';
import type { StepResult } from './step-result.ts';

const failed: StepResult = {
  name: 'tcp',
  status: 'fail',
  ms: 12,
  detail: '10.0.0.2:2222: connection refused',
  fix: 'check the port',
};
const passed: StepResult = { name: 'dns', status: 'pass', ms: 0, detail: 'an IP address', fix: null };

test('json line: exactly name, status, ms, detail, fix, one line', () => {
  const line = jsonLine(failed);
  assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
  assert.deepEqual(Object.keys(JSON.parse(line)), ['name', 'status', 'ms', 'detail', 'fix']);
  assert.equal(JSON.parse(jsonLine(passed)).fix, null);
});

test('human row: mark, name, time, detail; a failure adds its fix line', () => {
  assert.match(humanRow(passed), /^ok {4}dns +0 ms {2}an IP address\n$/);
  const rows = humanRow(failed).split('\n');
  assert.match(rows[0] ?? '', /^FAIL {2}tcp +12 ms {2}10\.0\.0\.2:2222: connection refused$/);
  assert.match(rows[1] ?? '', /^ +fix: check the port$/);
});

test('summary counts each status and repeats the fixes', () => {
  const s = humanSummary([passed, failed, { ...passed, name: 'x', status: 'skip' }], 1234.4);
  assert.match(s, /1 passed, 1 failed, 1 skipped in 1234 ms/);
  assert.match(s, /tcp: check the port/);
});
