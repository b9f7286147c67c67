// Codec throughput: `npm run bench:proto`. Encodes and decodes 32 KiB UdpPackets and small Pings.
import { encodeMessage, FrameDecoder, type Message, MessageDecoder } from '@port-linker/proto';

function bench(name: string, msg: Message, chunk: number): void {
  const frame = encodeMessage(msg);
  const n = Math.max(2000, Math.floor((256 * 1024 * 1024) / frame.byteLength / 4));
  // encode
  let t0 = performance.now();
  for (let i = 0; i < n; i++) encodeMessage(msg);
  const encMs = performance.now() - t0;
  // decode: a stream of n frames fed in `chunk`-byte pieces (as a socket would deliver them)
  const stream = new Uint8Array(frame.byteLength * Math.min(n, 64));
  for (let i = 0; i < Math.min(n, 64); i++) stream.set(frame, i * frame.byteLength);
  const d = new MessageDecoder();
  let decoded = 0;
  t0 = performance.now();
  while (decoded < n) {
    for (let off = 0; off < stream.byteLength; off += chunk)
      decoded += d.push(stream.subarray(off, off + chunk)).length;
  }
  const decMs = performance.now() - t0;
  const mb = (frame.byteLength * n) / 1024 / 1024;
  const row = (what: string, ms: number, count: number) =>
    `${name.padEnd(22)} ${what.padEnd(7)} ${((count / ms) * 1000).toFixed(0).padStart(10)} frames/s ${((mb / ms) * 1000 * (count / n)).toFixed(0).padStart(7)} MiB/s`;
  console.log(row('encode', encMs, n));
  console.log(row('decode', decMs, decoded));
}

function frameOnly(): void {
  const frame = encodeMessage({ type: 'UdpPacket', srcPort: 1, dstPort: 2, id: 3, data: new Uint8Array(32768) });
  const d = new FrameDecoder();
  const n = 20000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) d.push(frame);
  const ms = performance.now() - t0;
  console.log(
    `${'FrameDecoder 32 KiB'.padEnd(22)} whole   ${((n / ms) * 1000).toFixed(0).padStart(10)} frames/s ${((((frame.byteLength * n) / ms) * 1000) / 1048576).toFixed(0).padStart(7)} MiB/s (zero-copy)`,
  );
}

console.log(`node ${process.version}, ${process.arch}`);
bench('UdpPacket 32 KiB', { type: 'UdpPacket', srcPort: 1, dstPort: 2, id: 3, data: new Uint8Array(32768) }, 65536);
bench(
  'UdpPacket 32 KiB split',
  { type: 'UdpPacket', srcPort: 1, dstPort: 2, id: 3, data: new Uint8Array(32768) },
  16384,
);
bench('UdpPacket 64 B', { type: 'UdpPacket', srcPort: 1, dstPort: 2, id: 3, data: new Uint8Array(64) }, 65536);
bench('Ping', { type: 'Ping', value: 1n }, 65536);
frameOnly();
