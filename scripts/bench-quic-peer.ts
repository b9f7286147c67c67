// Agent side of the two-process QUIC bench (spawned by bench-transport.ts): prints `ready <port> <fingerprint hex>`,
// reads the host fingerprint on stdin, accepts one stream, counts bytes, echoes 0xee markers, reports on SIGTERM.
import type { Duplex } from 'node:stream';
import { acceptFrame } from '@port-linker/transport';
import { generateQuicIdentity, QuicTransportServer, type QuicTuning } from '@port-linker/transport/quic';

const tuning = JSON.parse(process.argv[2] ?? '{}') as QuicTuning;
const id = await generateQuicIdentity('agent');
const server = await QuicTransportServer.listen(id, '127.0.0.1', tuning);
let received = 0;
let conn: { conn: { stats(): { sent: number; recv: number } } } | undefined;
server.on('connection', (c) => {
  conn = c;
});
server.on('peer', (s: Duplex) => {
  s.write(acceptFrame('quic'));
  s.on('data', (c: Buffer) => {
    received += c.length;
    if (c[c.length - 1] === 0xee) s.write(Buffer.from([0xee]));
  });
});
process.stdin.once('data', (d: Buffer) => server.expectClient(Buffer.from(d.toString().trim(), 'hex')));
const report = () => {
  const { user, system } = process.cpuUsage();
  const st = conn?.conn.stats();
  return { received, cpuMs: (user + system) / 1000, sent: st?.sent ?? 0, recv: st?.recv ?? 0 };
};
process.on('message', (m) => (m === 'exit' ? process.exit(0) : process.send?.(report())));
process.stdout.write(`ready ${server.port} ${Buffer.from(id.fingerprint).toString('hex')}\n`);
