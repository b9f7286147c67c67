import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { RemoteHost, waitFor } from './harness/index.ts';
import { CliProcess } from './support/cli-process.ts';
import { tcpRoundTrip } from './support/tcp-client.ts';
import { udpAsk, udpClient } from './support/udp-client.ts';

describe('UDP mirroring through the agent (real sshd)', () => {
  let host: RemoteHost;
  before(async () => {
    host = await RemoteHost.start();
  });
  after(async () => {
    await host?.close();
  });

  test('UDP services on 127.0.0.1 and 0.0.0.0 are mirrored; clients get only their own replies; 60,000 B intact', async () => {
    const loop = await host.serve('udp-echo', 0, '127.0.0.1');
    const wild = await host.serve('udp-echo', 0, '0.0.0.0');
    const cli = CliProcess.against(host);
    const [c1, c2] = [await udpClient(), await udpClient()];
    try {
      const a = await cli.forwardFor(loop.port, 'udp');
      const b = await cli.forwardFor(wild.port, 'udp');
      assert.equal(a.local_port, loop.port);
      assert.equal(b.local_port, wild.port);
      const got1: string[] = [];
      const got2: string[] = [];
      c1.on('message', (m: Buffer) => got1.push(m.toString()));
      c2.on('message', (m: Buffer) => got2.push(m.toString()));
      await waitFor(
        async () => {
          for (let i = 0; i < 20; i++) {
            c1.send(`one-${i}`, loop.port, '127.0.0.1');
            c2.send(`two-${i}`, loop.port, '127.0.0.1');
          }
          await new Promise((r) => setTimeout(r, 300));
          return got1.length >= 15 && got2.length >= 15;
        },
        'replies to both clients',
        10_000,
        0,
      );
      assert.ok(
        got1.every((m) => m.startsWith('one-')),
        'client 1 only gets its own replies',
      );
      assert.ok(
        got2.every((m) => m.startsWith('two-')),
        'client 2 only gets its own replies',
      );
      c1.removeAllListeners('message');
      const big = Buffer.alloc(60_000);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
      assert.ok((await udpAsk(c1, wild.port, big)).equals(big), 'a 60,000-byte datagram round-trips intact');
    } finally {
      c1.close();
      c2.close();
      await cli.stop();
      await Promise.all([loop.stop(), wild.stop()]);
    }
  });

  test('a restarted UDP service keeps working; a stopped one goes away; TCP and UDP on one port both work', async () => {
    const tcp = await host.serve('tcp-echo', 0, '0.0.0.0');
    let udp = await host.serve('udp-echo', tcp.port, '0.0.0.0');
    // trace: a failure shows every scan the agent ran (a stopped service once went unseen for 15 s in CI)
    const cli = CliProcess.against(host, [], { PORT_LINKER_LOG: 'trace' });
    const c = await udpClient();
    try {
      await cli.forwardFor(tcp.port, 'tcp');
      await cli.forwardFor(tcp.port, 'udp');
      assert.equal((await udpAsk(c, tcp.port, Buffer.from('u1'))).toString(), 'u1');
      assert.equal((await tcpRoundTrip(tcp.port, Buffer.from('t1'))).toString(), 't1');

      await udp.stop();
      udp = await host.serve('udp-echo', tcp.port, '0.0.0.0');
      assert.equal((await udpAsk(c, tcp.port, Buffer.from('u2'))).toString(), 'u2', 'works after the restart');

      const seen = cli.events.length;
      await udp.stop();
      const removed = await cli.waitEvent(
        (e) =>
          cli.events.indexOf(e) >= seen &&
          e.event === 'forward_removed' &&
          e.protocol === 'udp' &&
          e.remote_port === tcp.port,
        'udp forward_removed',
      );
      assert.equal(removed.reason, 'remote_closed');
      const probe = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        probe.once('error', reject);
        probe.bind(tcp.port, '127.0.0.1', () => resolve());
      });
      probe.close();
      assert.equal(
        (await tcpRoundTrip(tcp.port, Buffer.from('t2'))).toString(),
        't2',
        'TCP on the same port is untouched',
      );
    } finally {
      c.close(); // an open socket keeps the test file alive: a failure here once hung the file for 180 s
      await cli.stop();
      await Promise.all([tcp.stop(), udp.stop()]);
    }
  });

  test('--protocol tcp leaves UDP alone', async () => {
    const udp = await host.serve('udp-echo', 0, '0.0.0.0');
    const tcp = await host.serve('tcp-listen', 0, '0.0.0.0');
    const cli = CliProcess.against(host, ['--protocol', 'tcp']);
    try {
      await cli.forwardFor(tcp.port);
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(!cli.events.some((e) => e.event === 'forward_added' && e.protocol === 'udp'));
    } finally {
      await cli.stop();
      await Promise.all([udp.stop(), tcp.stop()]);
    }
  });
});
