import { ProtocolError } from './errors.ts';
import { MessageDecoder } from './message-decoder.ts';
import { encodeMessage } from './messages.ts';
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

/**
 * Feeds random and mutated frames (bit flips, truncation, random headers) in random chunks to a
 * MessageDecoder. Anything thrown that is not a ProtocolError counts as a foreign error (a bug).
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
    let bytes: Uint8Array;
    const kind = int(4);
    if (kind === 0) {
      bytes = new Uint8Array(int(64)).map(() => int(256));
    } else {
      const base = seeds[int(seeds.length)] ?? new Uint8Array(0);
      bytes = base.slice();
      const flips = 1 + int(4);
      for (let f = 0; f < flips && bytes.byteLength > 0; f++) {
        const at = kind === 1 ? int(Math.min(bytes.byteLength, 5)) : int(bytes.byteLength);
        bytes[at] = int(256);
      }
      if (kind === 3) bytes = bytes.subarray(0, int(bytes.byteLength + 1));
    }
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
