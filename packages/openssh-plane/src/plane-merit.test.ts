import assert from 'node:assert/strict';
import { test } from 'node:test';
import { opensshMerit } from './plane-merit.ts';

test('OpenSSH is taken when its round trip is the shortest on a short link', () => {
  const m = opensshMerit({ ssh: 0.5, direct: 0.9, openssh: 0.3 }, 'ssh');
  assert.equal(m.take, true);
  assert.match(m.reason, /OpenSSH 0\.30 ms vs 0\.50 ms through SSH channels/);
  assert.equal(opensshMerit({ ssh: 0.5, direct: 0.4, openssh: 0.35 }, 'direct').take, true);
});

test('a path at least as short keeps the forwards (ties go to the path already chosen)', () => {
  const m = opensshMerit({ ssh: 0.3, openssh: 0.3 }, 'ssh');
  assert.equal(m.take, false);
  assert.match(m.reason, /through SSH channels is as short/);
  assert.equal(opensshMerit({ ssh: 0.5, direct: 0.2, openssh: 0.3 }, 'direct').take, false);
});

test('a long round trip keeps port-linker channels (their window grows, OpenSSH stays at 2 MiB)', () => {
  const m = opensshMerit({ ssh: 50, openssh: 51 }, 'ssh');
  assert.equal(m.take, false);
  assert.match(m.reason, /50\.00 ms round trip: .* 8 MiB window, OpenSSH's stays at 2 MiB/);
  // at 4 ms the window is still 2 MiB: the round trip decides
  assert.equal(opensshMerit({ ssh: 4, openssh: 3.5 }, 'ssh').take, true);
});

test('nothing measured through OpenSSH, or nothing to compare it with: not taken', () => {
  assert.equal(opensshMerit({ ssh: 0.5 }, 'ssh').take, false);
  // the echo through SSH timed out (a busy link): no measure, no switch
  const m = opensshMerit({ direct: 0.9, openssh: 0.3 }, 'ssh');
  assert.equal(m.take, false);
  assert.match(m.reason, /no round trip through SSH channels to compare with/);
});

test('the link is as long as its shortest measured round trip, whichever path timed it', () => {
  assert.match(opensshMerit({ direct: 52, openssh: 51 }, 'ssh').reason, /a 51\.00 ms round trip/);
  assert.equal(opensshMerit({ ssh: 0.4, direct: 60, openssh: 0.3 }, 'ssh').take, true);
});
