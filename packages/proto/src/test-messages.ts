import type { Message } from './messages.ts';

/** One sample of every message type, for round-trip and stream tests. */
export function sampleMessages(): Message[] {
  const data = new Uint8Array(300).map((_, i) => i & 0xff);
  return [
    { type: 'UdpPacket', srcPort: 53124, dstPort: 53, id: 0xdeadbeef, data },
    { type: 'UdpPacket', srcPort: 1, dstPort: 2, id: 0, data: new Uint8Array(0) },
    { type: 'Ping', value: 0xfedcba9876543210n },
    { type: 'Pong', value: 1n },
    { type: 'ScanRequest', tcp: true, udp: false },
    { type: 'ScanRequest', tcp: true, udp: true },
    {
      type: 'ScanResponse',
      sockets: [
        { protocol: 'tcp', port: 8080, address: '0.0.0.0', process: 'node' },
        { protocol: 'tcp', port: 5432, address: '::1', process: 'postgres' },
        { protocol: 'udp', port: 5353, address: '::', process: '' },
        { protocol: 'tcp', port: 3000, address: 'fe80::1:2', process: 'vite ✓ dev' },
      ],
    },
    { type: 'ScanResponse', sockets: [] },
    { type: 'StartUdpForward', port: 9999, address: '127.0.0.1' },
    { type: 'StartUdpForward', port: 9998, address: '::1' },
    { type: 'StopUdpForward', port: 9999 },
    {
      type: 'LogBatch',
      events: [
        { level: 'info', target: 'agent.watch', message: 'watching every 150 ms' },
        { level: 'trace', target: '', message: '' },
        { level: 'error', target: 'agent', message: 'ünïcödé ok' },
      ],
    },
    { type: 'WatchRequest', tcp: true, udp: true, intervalMs: 150 },
    {
      type: 'ScanDelta',
      full: true,
      added: [{ protocol: 'udp', port: 7, address: '127.0.0.5', process: 'echo' }],
      removed: [{ protocol: 'tcp', port: 22, address: '::', process: 'sshd' }],
    },
    {
      type: 'AgentHello',
      info: { version: '0.1.0', platform: 'linux', arch: 'x64', pid: 42, scanner: 'procfs', capabilities: ['watch'] },
    },
    { type: 'Shutdown' },
    { type: 'DataPathRequest' },
    { type: 'DataPathOffer', port: 40002, echoPort: 40003, key: new Uint8Array(32).fill(3), reason: '' },
    { type: 'DataPathOffer', port: 0, echoPort: 0, key: new Uint8Array(0), reason: 'no SSH_CONNECTION' },
    {
      type: 'TransportOffer',
      version: 1,
      entries: [
        { kind: 'stdio' },
        { kind: 'tcp', port: 40000, secret: new Uint8Array(32).fill(7) },
        { kind: 'quic', port: 40001, fingerprint: new Uint8Array(32).fill(9) },
        { kind: 'unknown', code: 0x7f, data: new Uint8Array([1, 2, 3]) },
      ],
    },
    { type: 'TransportAccept', kind: 'quic', data: new Uint8Array(32).fill(1) },
    { type: 'TransportAccept', kind: 'stdio', data: new Uint8Array(0) },
  ];
}

/** Deterministic PRNG (mulberry32) so property and fuzz tests are reproducible from a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
