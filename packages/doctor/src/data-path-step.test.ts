import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dataPathOutcome } from './data-path-step.ts';

test('the data path line names the path auto takes, with the three round trips', () => {
  const r = dataPathOutcome(
    {
      kind: 'ssh',
      reason: 'measured: a round trip through SSH is shorter',
      rtt: { ssh: 0.5, direct: 0.9 },
      echoPort: 1,
    },
    0.3,
  );
  assert.equal(r.status, 'pass');
  assert.equal(
    r.detail,
    'auto would use OpenSSH (measured: a round trip through OpenSSH 0.30 ms vs 0.50 ms through SSH channels): 64 B round trips SSH 0.50 ms, direct 0.90 ms, OpenSSH 0.30 ms',
  );
});

test('OpenSSH unavailable or slower: SSH channels, and why not OpenSSH', () => {
  const base = {
    kind: 'ssh' as const,
    reason: 'measured: a round trip through SSH is shorter',
    rtt: { ssh: 0.5, direct: 0.9 },
  };
  assert.match(
    dataPathOutcome(base, 'no ssh client on PATH (install openssh-client)').detail,
    /^auto uses SSH channels: .*; not OpenSSH: no ssh client on PATH/,
  );
  assert.match(
    dataPathOutcome(base, 0.7).detail,
    /not OpenSSH: measured: a round trip through SSH channels is as short \(SSH 0\.50 ms, direct 0\.90 ms, OpenSSH 0\.70 ms\)/,
  );
});

test('a long link: OpenSSH is not even started, the line says the window is why', () => {
  const r = dataPathOutcome({
    kind: 'ssh',
    reason: 'measured: a round trip through SSH is shorter',
    rtt: { ssh: 50, direct: 51 },
  });
  assert.match(r.detail, /not OpenSSH: a 50\.00 ms round trip: .*8 MiB window, OpenSSH's stays at 2 MiB/);
});
