import { ProtocolError } from './errors.ts';
import { FRAME_HEADER_SIZE } from './frame.ts';
import { MessageDecoder } from './message-decoder.ts';
import { encodeMessage } from './messages.ts';
import {
  MUX_MAX_CONTROL,
  MUX_MAX_DATA,
  MuxFrame,
  MuxParser,
  muxControl,
  muxOpenPayload,
  readMuxOpen,
  u32Payload,
} from './mux-frame.ts';
import { prng, sampleMessages } from './test-messages.ts';

/** Outcome counts of a fuzz run. */
export interface FuzzReport {
  iterations: number;
  decoded: number;
  protocolErrors: number;
  foreignErrors: number;
  firstForeign: string;
  maxBuffered: number;
}

/** How a fuzzed input was made (mutateFrame): random bytes, or one sample frame changed in one of these ways. */
export const MUTATIONS = [
  'random bytes',
  'header bytes flipped',
  'bytes flipped',
  'flipped and truncated',
  'length field out of range',
  'random type byte',
] as const;

/**
 * One fuzzed input from `seeds` (whole frames whose header is `headerSize` bytes, the length field the last 4 of
 * them): random bytes, bytes of the header or anywhere changed, truncated, the length field set to an edge value
 * (0, one less or more than the payload, the bound, one past it, 2^32-1, random), or a random type byte.
 */
export function mutateFrame(
  rnd: () => number,
  seeds: readonly Uint8Array[],
  maxFrameLength: number,
  headerSize = FRAME_HEADER_SIZE,
): { bytes: Uint8Array; kind: (typeof MUTATIONS)[number] } {
  const int = (n: number) => Math.floor(rnd() * n);
  const kind = int(MUTATIONS.length);
  if (kind === 0) return { bytes: new Uint8Array(int(64)).map(() => int(256)), kind: MUTATIONS[kind] };
  let bytes = (seeds[int(seeds.length)] ?? new Uint8Array(headerSize)).slice();
  if (kind <= 3) {
    const flips = 1 + int(4);
    for (let f = 0; f < flips && bytes.byteLength > 0; f++) {
      const at = kind === 1 ? int(Math.min(bytes.byteLength, headerSize)) : int(bytes.byteLength);
      bytes[at] = int(256);
    }
    if (kind === 3) bytes = bytes.subarray(0, int(bytes.byteLength + 1));
  } else if (kind === 4) {
    const payload = bytes.byteLength - headerSize;
    const edges = [0, payload - 1, payload + 1, maxFrameLength, maxFrameLength + 1, 0xffffffff, int(2 ** 32)];
    const length = Math.max(0, Math.min(0xffffffff, edges[int(edges.length)] ?? 0));
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(headerSize - 4, length);
  } else {
    bytes[0] = int(256);
  }
  return { bytes, kind: MUTATIONS[kind] as (typeof MUTATIONS)[number] };
}

/**
 * Feeds random and mutated frames (mutateFrame) in random chunks to a MessageDecoder. Anything thrown that is not a
 * ProtocolError counts as a foreign error (a bug).
 */
export function fuzzDecoder(opts: { iterations: number; seed: number; maxFrameLength: number }): FuzzReport {
  const rnd = prng(opts.seed);
  const seeds = sampleMessages().map(encodeMessage);
  const report: FuzzReport = {
    iterations: opts.iterations,
    decoded: 0,
    protocolErrors: 0,
    foreignErrors: 0,
    firstForeign: '',
    maxBuffered: 0,
  };
  const int = (n: number) => Math.floor(rnd() * n);
  let decoder = new MessageDecoder({ maxFrameLength: opts.maxFrameLength });
  for (let i = 0; i < opts.iterations; i++) {
    const { bytes } = mutateFrame(rnd, seeds, opts.maxFrameLength);
    try {
      for (let off = 0; off < bytes.byteLength; ) {
        const n = 1 + int(32);
        report.decoded += decoder.push(bytes.subarray(off, off + n)).length;
        report.maxBuffered = Math.max(report.maxBuffered, decoder.bufferedBytes);
        off += n;
      }
      if (int(8) === 0) decoder.end();
    } catch (err) {
      if (err instanceof ProtocolError) report.protocolErrors++;
      else if (report.foreignErrors++ === 0) report.firstForeign = String((err as Error)?.stack ?? err);
      decoder = new MessageDecoder({ maxFrameLength: opts.maxFrameLength });
    }
  }
  return report;
}

/**
 * The same for the data path's MuxParser (9-byte headers, DATA passed on in pieces, control payloads collected; OPEN's
 * read as the agent reads it): `maxBuffered` is the largest control payload it held.
 */
export function fuzzMuxParser(opts: { iterations: number; seed: number }): FuzzReport {
  const rnd = prng(opts.seed);
  const seeds = [
    muxControl(MuxFrame.Open, 1, muxOpenPayload('db.internal', 5432)),
    muxControl(MuxFrame.Data, 1, new Uint8Array(100).fill(7)),
    muxControl(MuxFrame.End, 1),
    muxControl(MuxFrame.Reset, 3, new TextEncoder().encode('connection refused')),
    muxControl(MuxFrame.Window, 1, u32Payload(65536)),
    muxControl(MuxFrame.Ping, 0, new Uint8Array(8).fill(1)),
    muxControl(MuxFrame.Pong, 0, new Uint8Array(8).fill(2)),
  ];
  const report: FuzzReport = {
    iterations: opts.iterations,
    decoded: 0,
    protocolErrors: 0,
    foreignErrors: 0,
    firstForeign: '',
    maxBuffered: 0,
  };
  const int = (n: number) => Math.floor(rnd() * n);
  const handlers = {
    data: (_stream: number, chunk: Uint8Array) => {
      if (chunk.byteLength > MUX_MAX_DATA) throw new Error(`DATA piece of ${chunk.byteLength} bytes`);
      report.decoded++;
    },
    control: (type: number, _stream: number, payload: Uint8Array) => {
      report.maxBuffered = Math.max(report.maxBuffered, payload.byteLength);
      if (type === MuxFrame.Open) readMuxOpen(payload); // what the agent's side does with it
      report.decoded++;
    },
  };
  let parser = new MuxParser(handlers);
  for (let i = 0; i < opts.iterations; i++) {
    const { bytes } = mutateFrame(rnd, seeds, MUX_MAX_CONTROL, 9);
    try {
      for (let off = 0; off < bytes.byteLength; ) {
        const n = 1 + int(32);
        parser.push(bytes.subarray(off, off + n));
        off += n;
      }
    } catch (err) {
      if (err instanceof ProtocolError) report.protocolErrors++;
      else if (report.foreignErrors++ === 0) report.firstForeign = String((err as Error)?.stack ?? err);
      parser = new MuxParser(handlers);
    }
  }
  return report;
}
