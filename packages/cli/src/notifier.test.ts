import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BurstNotifier, hasDisplay } from './notifier.ts';

test('no display on a headless Linux box; macOS always has one', () => {
  assert.equal(hasDisplay({}, 'linux'), false);
  assert.equal(hasDisplay({ DISPLAY: ':0' }, 'linux'), true);
  assert.equal(hasDisplay({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux'), true);
  assert.equal(hasDisplay({}, 'darwin'), true);
});

test('a burst of new ports gives one notification', async () => {
  const sent: Array<[string, string]> = [];
  const n = new BurstNotifier(
    'devbox',
    async (t, m) => void sent.push([t, m]),
    () => {},
    30,
  );
  n.add('localhost:3000');
  n.add('localhost:5173');
  n.add('localhost:8080');
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(sent, [['port-linker: 3 ports from devbox', 'localhost:3000, localhost:5173, localhost:8080']]);
});
