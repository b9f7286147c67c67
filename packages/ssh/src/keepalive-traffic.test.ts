import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { Client } from 'ssh2';
import { keepaliveOnTraffic } from './keepalive-traffic.ts';

test('bytes from the server restart the keepalive count, at most once a second', () => {
  let resets = 0;
  let clock = 0;
  const client = { _resetKA: () => resets++ } as unknown as Client;
  const sock = new PassThrough();
  assert.equal(
    keepaliveOnTraffic(client, sock, () => clock),
    true,
  );
  sock.write('a');
  assert.equal(resets, 0, 'within the first second: nothing to do');
  clock = 1500;
  sock.write('b');
  sock.write('c');
  assert.equal(resets, 1);
  clock = 2600;
  sock.write('d');
  assert.equal(resets, 2);
  clock = 60_000; // silence does nothing by itself: ssh2's own keepalives then run their count
  assert.equal(resets, 2);
});

test('another ssh2 without _resetKA: left alone, and said', () => {
  assert.equal(keepaliveOnTraffic({} as Client, new PassThrough()), false);
});
