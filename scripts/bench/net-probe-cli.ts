// Runs a net-probe measurement where the client must be (inside the namespace, for -R rows), printing JSON:
//   node scripts/bench/net-probe-cli.ts wait PORT TIMEOUT_MS       -> {"ok":true}
//   node scripts/bench/net-probe-cli.ts sequential PORT COUNT      -> {"us":[...]} (one new connection each)
// Plain Node (type stripping), no tsx: it starts in the namespace with nothing but node.
import { sequentialConnections, waitUsable } from './net-probe.ts';

const [cmd, portArg, nArg] = process.argv.slice(2);
const port = Number(portArg);
const n = Number(nArg);
if (cmd === 'wait') {
  await waitUsable(port, n);
  process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
} else if (cmd === 'sequential') {
  process.stdout.write(`${JSON.stringify({ us: await sequentialConnections(port, n) })}\n`);
} else {
  process.stderr.write('usage: net-probe-cli.ts wait|sequential PORT N\n');
  process.exit(2);
}
