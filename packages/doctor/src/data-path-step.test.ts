import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dataPathOutcome } from './data-path-step.ts';

const ssh = {
  kind: 'ssh' as const,
  reason: 'measured: a round trip through SSH is shorter',
  rtt: { ssh: 0.5, direct: 0.9 },
};

test('the data path line says what auto takes, and when --data-path openssh would be shorter', () => {
  const r = dataPathOutcome({ ...ssh, echoPort: 1 }, 0.3);
  assert.equal(r.status, 'pass');
  assert.equal(
    r.detail,
    'auto uses SSH channels: measured: a round trip through SSH is shorter; --data-path openssh would be shorter (measured: a round trip through OpenSSH 0.30 ms vs 0.50 ms through SSH channels) (SSH 0.50 ms, direct 0.90 ms, OpenSSH 0.30 ms); --data-path direct|openssh forces another',
  );
});

test('OpenSSH unavailable or slower: said why', () => {
  assert.match(
    dataPathOutcome(ssh, 'no ssh client on PATH (install openssh-client)').detail,
    /^auto uses SSH channels: .*; --data-path openssh: no ssh client on PATH/,
  );
  assert.match(
    dataPathOutcome(ssh, 0.7).detail,
    /not --data-path openssh: measured: a round trip through SSH channels is as short \(SSH 0\.50 ms, direct 0\.90 ms, OpenSSH 0\.70 ms\)/,
  );
});

test('a long link: OpenSSH is not even started, the line says the window is why', () => {
  const r = dataPathOutcome({ ...ssh, rtt: { ssh: 50, direct: 51 } });
  assert.match(r.detail, /not --data-path openssh: a 50\.00 ms round trip: .*8 MiB window, OpenSSH's stays at 2 MiB/);
});
