// Long fuzz run of the proto decoder: `npm run fuzz:proto -- [iterations] [seed]` (default 1,000,000).
import { fuzzDecoder } from '../packages/proto/src/fuzz.ts';

const iterations = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
const t0 = performance.now();
const r = fuzzDecoder({ iterations, seed, maxFrameLength: 1024 * 1024 });
const s = (performance.now() - t0) / 1000;
console.log(
  `fuzz seed=${seed}: ${r.iterations} inputs in ${s.toFixed(1)} s; decoded ${r.decoded} messages, ` +
    `${r.protocolErrors} ProtocolErrors, ${r.foreignErrors} other errors, max buffered ${r.maxBuffered} B`,
);
if (r.foreignErrors > 0) {
  console.error(r.firstForeign);
  process.exit(1);
}
