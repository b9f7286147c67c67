import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EncodeError, ProtocolError } from './errors.ts';
import { FRAME_HEADER_SIZE } from './frame.ts';
import { decodeMessage, encodeMessage, type Message } from './messages.ts';
import { sampleMessages } from './test-messages.ts';

function roundTrip(m: Message): Message {
  const frame = encodeMessage(m);
  const length = new DataView(frame.buffer, frame.byteOffset).getUint32(1);
  assert.equal(length, frame.byteLength - FRAME_HEADER_SIZE, 'length field matches payload');
  const out = decodeMessage(frame[0] ?? -1, frame.subarray(FRAME_HEADER_SIZE));
  assert.notEqual(out.type, 'Unknown');
  return out as Message;
}

describe('messages: round trip of every type', () => {
  for (const m of sampleMessages()) {
    test(`${m.type} ${JSON.stringify(m, (_, v) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 60)}`, () => {
      assert.deepEqual(roundTrip(m), m);
    });
  }

  test('type bytes follow the seed table', () => {
    const bytes = Object.fromEntries(sampleMessages().map((m) => [m.type, encodeMessage(m)[0]]));
    assert.deepEqual(
      [bytes.UdpPacket, bytes.Ping, bytes.Pong, bytes.ScanRequest, bytes.ScanResponse, bytes.StartUdpForward],
      [0x00, 0x01, 0x02, 0x03, 0x04, 0x05],
    );
    assert.deepEqual(
      [bytes.StopUdpForward, bytes.LogBatch, bytes.TransportOffer, bytes.TransportAccept],
      [6, 7, 0x10, 0x11],
    );
  });

  test('UdpPacket layout is [src:2][dst:2][id:4][data] big-endian', () => {
    const f = encodeMessage({
      type: 'UdpPacket',
      srcPort: 0x0102,
      dstPort: 0x0304,
      id: 0x05060708,
      data: Uint8Array.of(9),
    });
    assert.deepEqual([...f], [0, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('scan entry layout matches the seed: [proto][port:2][addr_type][addr][name_len][name]', () => {
    const f = encodeMessage({
      type: 'ScanResponse',
      sockets: [{ protocol: 'udp', port: 0x1f90, address: '127.0.0.1', process: 'ab' }],
    });
    assert.deepEqual([...f.subarray(5)], [0, 1, 1, 0x1f, 0x90, 4, 127, 0, 0, 1, 2, 0x61, 0x62]);
  });

  test('a long process name is cut to 255 bytes on a character boundary', () => {
    const m = roundTrip({
      type: 'ScanResponse',
      sockets: [{ protocol: 'tcp', port: 1, address: '0.0.0.0', process: 'é'.repeat(200) }],
    });
    assert.equal(m.type === 'ScanResponse' && m.sockets[0]?.process, 'é'.repeat(127));
  });

  test('UdpPacket data is a view into the frame, not a copy', () => {
    const frame = encodeMessage({ type: 'UdpPacket', srcPort: 1, dstPort: 2, id: 3, data: new Uint8Array(32768) });
    const m = decodeMessage(frame[0] ?? 0, frame.subarray(5));
    assert.ok(m.type === 'UdpPacket');
    assert.equal(m.data.buffer, frame.buffer);
  });

  test('IPv4-mapped IPv6 addresses are normalised to IPv4', () => {
    const payload = Uint8Array.of(0, 1, 0, 0, 80, 6, ...new Array(10).fill(0), 0xff, 0xff, 10, 0, 0, 1, 0);
    const m = decodeMessage(0x04, payload);
    assert.ok(m.type === 'ScanResponse');
    assert.equal(m.sockets[0]?.address, '10.0.0.1');
  });
});

describe('messages: malformed payloads give ProtocolError', () => {
  const cases: Array<[string, number, number[]]> = [
    ['truncated Ping', 0x01, [1, 2, 3]],
    ['Ping with trailing bytes', 0x01, [0, 0, 0, 0, 0, 0, 0, 1, 9]],
    ['UdpPacket shorter than its header', 0x00, [0, 1, 0, 2]],
    ['scan list count larger than entries', 0x04, [0, 2, 0, 0, 80, 4, 127, 0, 0, 1, 0]],
    ['unknown protocol byte', 0x04, [0, 1, 7, 0, 80, 4, 127, 0, 0, 1, 0]],
    ['unknown addr_type', 0x04, [0, 1, 0, 0, 80, 5, 127, 0, 0, 1, 0]],
    ['name not UTF-8', 0x04, [0, 1, 0, 0, 80, 4, 127, 0, 0, 1, 1, 0xff]],
    ['log level 0', 0x07, [0, 1, 0, 3, 0, 0, 65]],
    ['log event_len past the batch', 0x07, [0, 1, 0, 90, 1, 0]],
    ['log target_len past event_len', 0x07, [0, 1, 0, 2, 1, 9]],
    ['AgentHello not JSON', 0x0a, [123]],
    ['AgentHello missing fields', 0x0a, [...new TextEncoder().encode('{"version":"1"}')]],
    ['quic offer too short', 0x10, [0, 0, 0, 1, 1, 2, 0, 2, 1, 2]],
    ['offer entry data past the end', 0x10, [0, 0, 0, 1, 1, 1, 0, 9, 1]],
    ['empty TransportAccept', 0x11, []],
  ];
  for (const [name, type, bytes] of cases) {
    test(name, () => {
      assert.throws(() => decodeMessage(type, Uint8Array.from(bytes)), ProtocolError);
    });
  }

  test('an unknown type is reported, not thrown', () => {
    assert.deepEqual(decodeMessage(0x42, new Uint8Array(3)), { type: 'Unknown', typeByte: 0x42, length: 3 });
  });
});

describe('messages: encode rejects values the format cannot carry', () => {
  test('port out of range', () => {
    assert.throws(() => encodeMessage({ type: 'StopUdpForward', port: 70000 }), EncodeError);
  });
  test('address that is not an IP', () => {
    assert.throws(() => encodeMessage({ type: 'StartUdpForward', port: 1, address: 'localhost' }), EncodeError);
  });
});
