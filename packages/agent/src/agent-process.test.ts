import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import {
  encodeMessage,
  type ListeningSocket,
  type LogEvent,
  type Message,
  MessageDecoder,
  type UnknownMessage,
} from '@port-linker/proto';
import type { Scanner, ScanOptions, ScanResult } from '@port-linker/scanner';
import { runAgent } from './agent-process.ts';

/** A scanner whose socket list the test sets; counts scans. */
class ListScanner implements Scanner {
  readonly backend = 'procfs' as const;
  sockets: ListeningSocket[] = [];
  scans = 0;
  closed = false;
  fail = false;
  async scan(options: ScanOptions): Promise<ScanResult> {
    this.scans++;
    if (this.fail) throw new Error('scan source unreadable');
    return { sockets: this.sockets.filter((s) => options[s.protocol]), malformed: 0 };
  }
  close(): void {
    this.closed = true;
  }
}

const tcp = (port: number, address = '0.0.0.0'): ListeningSocket => ({ protocol: 'tcp', port, address, process: 'x' });
const udp = (port: number): ListeningSocket => ({ protocol: 'udp', port, address: '127.0.0.1', process: 'x' });

/** Runs the agent on in-memory streams and decodes everything it writes. */
function start(argv: string[] = [], scanner = new ListScanner(), signature: (() => string) | null = null) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const decoder = new MessageDecoder();
  const messages: Array<Message | UnknownMessage> = [];
  const logs: LogEvent[] = [];
  let stderrText = '';
  stdout.on('data', (c: Buffer) => {
    for (const m of decoder.push(c)) {
      if (m.type === 'LogBatch') logs.push(...m.events);
      else messages.push(m);
    }
  });
  stderr.on('data', (c: Buffer) => {
    stderrText += c.toString();
  });
  let exitCode: number | undefined;
  const done = runAgent({
    argv,
    stdin,
    stdout,
    stderr,
    exit: (code) => {
      exitCode = code;
    },
    scanner: async () => scanner,
    signature,
  });
  const send = (m: Message) => stdin.write(encodeMessage(m));
  const waitFor = async (what: string, check: () => boolean, timeoutMs = 3000) => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return {
    stdin,
    scanner,
    messages,
    logs,
    send,
    waitFor,
    done,
    get exitCode() {
      return exitCode;
    },
    get stderr() {
      return stderrText;
    },
    of: <T extends Message['type']>(type: T) =>
      messages.filter((m) => m.type === type) as Extract<Message, { type: T }>[],
  };
}

describe('agent process', () => {
  test('says hello first, answers Ping with the same value, exits 0 when stdin closes', async () => {
    const a = start();
    a.send({ type: 'Ping', value: 42n });
    await a.waitFor('Pong', () => a.of('Pong').length === 1);
    assert.equal(a.messages[0]?.type, 'AgentHello');
    const hello = a.of('AgentHello')[0];
    assert.equal(hello?.info.scanner, 'procfs');
    assert.ok(hello?.info.capabilities.includes('watch'));
    assert.equal(a.of('Pong')[0]?.value, 42n);
    a.stdin.end();
    assert.equal(await a.done, 0);
    assert.equal(a.exitCode, 0);
    assert.ok(a.scanner.closed, 'scanner closed on exit');
    assert.ok(a.logs.some((e) => e.message.includes('stdin closed')));
  });

  test('ScanRequest gets a ScanResponse filtered by protocol', async () => {
    const a = start();
    a.scanner.sockets = [tcp(80), { protocol: 'udp', port: 53, address: '127.0.0.1', process: 'dns' }];
    a.send({ type: 'ScanRequest', tcp: false, udp: true });
    await a.waitFor('ScanResponse', () => a.of('ScanResponse').length === 1);
    assert.deepEqual(
      a.of('ScanResponse')[0]?.sockets.map((s) => s.port),
      [53],
    );
    a.stdin.end();
    await a.done;
  });

  test('a flood of ScanRequests runs one scan at a time, each answering the requests that waited for it', async () => {
    const scanner = new ListScanner();
    let running = 0;
    let most = 0;
    const scan = scanner.scan.bind(scanner);
    scanner.scan = async (options) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return scan(options);
    };
    const a = start([], scanner);
    a.scanner.sockets = [tcp(80), udp(53)];
    const both = encodeMessage({ type: 'ScanRequest', tcp: true, udp: true });
    const tcpOnly = encodeMessage({ type: 'ScanRequest', tcp: true, udp: false });
    // 20,000 requests in one write (120 KB): a scan each, all at once, took the agent past 1 GB
    a.stdin.write(Buffer.concat(Array.from({ length: 20_000 }, (_, i) => (i % 2 === 0 ? both : tcpOnly))));
    a.send({ type: 'Ping', value: 9n });
    await a.waitFor('the Pong', () => a.of('Pong').length === 1);
    await a.waitFor('the last answers', () => a.scanner.scans === 3 && a.of('ScanResponse').length === 3);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(most, 1, 'one scan at a time');
    assert.equal(a.scanner.scans, 3, 'the first request, then one scan per protocol set that waited');
    assert.deepEqual(
      a.of('ScanResponse').map((m) => m.sockets.length),
      [2, 1, 2],
      'tcp+udp, then the sets that waited, in the order they first waited (tcp only, tcp+udp again)',
    );
    a.send({ type: 'ScanRequest', tcp: false, udp: true });
    await a.waitFor('a later request is answered', () => a.of('ScanResponse').length === 4);
    assert.deepEqual(a.of('ScanResponse')[3]?.sockets, [udp(53)]);
    a.stdin.end();
    await a.done;
  });

  test('watch: first delta is full, then only changes; interval 0 stops watching', async () => {
    const a = start();
    a.scanner.sockets = [tcp(80)];
    a.send({ type: 'WatchRequest', tcp: true, udp: true, intervalMs: 50 });
    await a.waitFor('full delta', () => a.of('ScanDelta').length === 1);
    assert.deepEqual(a.of('ScanDelta')[0], { type: 'ScanDelta', full: true, added: [tcp(80)], removed: [] });
    const scansBefore = a.scanner.scans;
    await a.waitFor('a few idle scans', () => a.scanner.scans >= scansBefore + 2);
    assert.equal(a.of('ScanDelta').length, 1, 'no delta while nothing changes');
    a.scanner.sockets = [tcp(80), tcp(8080)];
    await a.waitFor('added delta', () => a.of('ScanDelta').length === 2);
    assert.deepEqual(a.of('ScanDelta')[1], { type: 'ScanDelta', full: false, added: [tcp(8080)], removed: [] });
    a.scanner.sockets = [tcp(8080)];
    await a.waitFor('removed delta', () => a.of('ScanDelta').length === 3);
    assert.deepEqual(a.of('ScanDelta')[2]?.removed, [tcp(80)]);
    a.send({ type: 'WatchRequest', tcp: true, udp: true, intervalMs: 0 });
    await new Promise((r) => setTimeout(r, 30));
    const stoppedAt = a.scanner.scans;
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(a.scanner.scans, stoppedAt, 'no scans after the watch stopped');
    a.stdin.end();
    await a.done;
  });

  test('watch skips scans while the socket-table signature stands still, and scans when it moves', async () => {
    let sig = 'TCP: inuse 1';
    const a = start([], new ListScanner(), () => sig);
    a.scanner.sockets = [tcp(80)];
    a.send({ type: 'WatchRequest', tcp: true, udp: true, intervalMs: 50 });
    await a.waitFor('full delta', () => a.of('ScanDelta').length === 1);
    const scans = a.scanner.scans;
    a.scanner.sockets = [tcp(80), tcp(81)]; // the kernel counters did not move: not noticed yet
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(a.scanner.scans, scans, 'no scan while the signature is unchanged');
    assert.equal(a.of('ScanDelta').length, 1);
    sig = 'TCP: inuse 2';
    await a.waitFor('delta after the signature moved', () => a.of('ScanDelta').length === 2);
    assert.deepEqual(a.of('ScanDelta')[1]?.added, [tcp(81)]);
    a.stdin.end();
    await a.done;
  });

  test("the relay's own UDP sockets make the watch rescan, even when the counters stand still", async () => {
    // a flow closing as a restarted service binds nets out in `UDP: inuse`: the agent must not rely on it moving
    const a = start([], new ListScanner(), () => 'UDP: inuse 1');
    const echo = createSocket('udp4');
    echo.on('message', (m, r) => echo.send(m, r.port, r.address));
    await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
    const port = echo.address().port;
    a.scanner.sockets = [udp(port)];
    a.send({ type: 'WatchRequest', tcp: true, udp: true, intervalMs: 50 });
    await a.waitFor('full delta', () => a.of('ScanDelta').length === 1);
    a.send({ type: 'StartUdpForward', port, address: '127.0.0.1' });
    a.send({ type: 'UdpPacket', srcPort: 5000, dstPort: port, id: 1, data: Buffer.from('x') });
    await a.waitFor('the echo', () => a.of('UdpPacket').length === 1);
    const scans = a.scanner.scans;
    a.scanner.sockets = [udp(port), udp(port + 1)];
    a.send({ type: 'StopUdpForward', port });
    await a.waitFor('a delta after the flow closed', () => a.of('ScanDelta').length === 2);
    assert.ok(a.scanner.scans > scans);
    assert.deepEqual(a.of('ScanDelta')[1]?.added, [udp(port + 1)]);
    echo.close();
    a.stdin.end();
    await a.done;
  });

  test('a new WatchRequest restarts with a full delta', async () => {
    const a = start();
    a.scanner.sockets = [tcp(22)];
    a.send({ type: 'WatchRequest', tcp: true, udp: false, intervalMs: 50 });
    await a.waitFor('first full', () => a.of('ScanDelta').length === 1);
    a.send({ type: 'WatchRequest', tcp: true, udp: false, intervalMs: 50 });
    await a.waitFor('second full', () => a.of('ScanDelta').length === 2);
    assert.equal(a.of('ScanDelta')[1]?.full, true);
    assert.deepEqual(a.of('ScanDelta')[1]?.added, [tcp(22)]);
    a.stdin.end();
    await a.done;
  });

  test('exits by itself when the host is silent past --silence-timeout-ms, and pings keep it alive', async () => {
    const a = start(['--silence-timeout-ms', '300']);
    const t0 = Date.now();
    const keepAlive = setInterval(() => a.send({ type: 'Ping', value: 1n }), 100);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(a.exitCode, undefined, 'pings every 100 ms keep a 300 ms timeout from firing');
    clearInterval(keepAlive);
    assert.equal(await a.done, 0);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 800 && elapsed < 1500, `exited ${elapsed} ms after start`);
    assert.ok(a.logs.some((e) => e.message.includes('host silent for 300 ms')));
  });

  test('Shutdown stops the agent; UDP messages reach the relay; reserved transport messages are ignored', async () => {
    const a = start(['--log-level', 'debug']);
    a.send({ type: 'StartUdpForward', port: 5353, address: '127.0.0.1' });
    a.send({ type: 'UdpPacket', srcPort: 1, dstPort: 2, id: 3, data: new Uint8Array([1]) });
    a.send({ type: 'TransportOffer', version: 1, entries: [] });
    a.send({ type: 'Shutdown' });
    assert.equal(await a.done, 0);
    assert.ok(a.logs.some((e) => e.target === 'agent.udp' && e.message.includes('forwarding udp 127.0.0.1:5353')));
    assert.ok(a.logs.some((e) => e.target === 'agent.transport' && e.message.includes('TransportOffer ignored')));
    assert.ok(a.logs.some((e) => e.message.includes('host asked to shut down')));
  });

  test('an unknown frame type is skipped; a malformed frame ends the agent with code 1 and one stderr line', async () => {
    const a = start(['--log-level', 'debug']);
    a.stdin.write(Uint8Array.from([0x7e, 0, 0, 0, 1, 9]));
    a.send({ type: 'Ping', value: 5n });
    await a.waitFor('Pong after unknown', () => a.of('Pong').length === 1);
    assert.ok(a.logs.some((e) => e.message.includes('unknown frame type 0x7e')));
    a.stdin.write(Uint8Array.from([0x01, 0, 0, 0, 2, 0, 0])); // Ping with a 2-byte payload
    assert.equal(await a.done, 1);
    assert.match(a.stderr, /^port-linker-agent: protocol error from the host: .*\n$/);
  });

  test('a failing scanner is reported once per streak, not per tick, and no delta is invented', async () => {
    const a = start();
    a.scanner.fail = true;
    a.send({ type: 'WatchRequest', tcp: true, udp: true, intervalMs: 50 });
    await a.waitFor('several failed scans', () => a.scanner.scans >= 4);
    assert.equal(a.of('ScanDelta').length, 0);
    assert.equal(a.logs.filter((e) => e.message.includes('scan failed')).length, 1);
    a.scanner.fail = false;
    await a.waitFor('full delta after recovery', () => a.of('ScanDelta').length === 1);
    assert.equal(a.of('ScanDelta')[0]?.full, true);
    a.stdin.end();
    await a.done;
  });

  test('bad arguments exit 2 with one stderr line and no frames', async () => {
    const a = start(['--nope']);
    assert.equal(await a.done, 2);
    assert.equal(a.messages.length, 0);
    assert.match(a.stderr, /unknown agent argument --nope/);
  });
});
