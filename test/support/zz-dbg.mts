import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { encodeMessage, MessageDecoder } from '@port-linker/proto';

const child = spawn(process.execPath, ['packages/agent/dist/agent.cjs', '--log-level', 'trace'], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const d = new MessageDecoder();
const t0 = performance.now();
child.stdout.on('data', (c) => {
  for (const m of d.push(c)) {
    const t = (performance.now() - t0).toFixed(0);
    if (m.type === 'LogBatch') for (const e of m.events) console.log(t, e.target, e.message);
    else if (m.type === 'ScanDelta')
      console.log(
        t,
        'DELTA',
        m.full,
        m.added.map((s) => s.port),
        m.removed.map((s) => s.port),
      );
  }
});
child.stdin.write(encodeMessage({ type: 'WatchRequest', tcp: true, udp: true, intervalMs: 150 }));
await new Promise((r) => setTimeout(r, 1000));
const s = createServer();
await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
console.log(
  (performance.now() - t0).toFixed(0),
  'LISTEN',
  (s.address() as any).port,
  readFileSync('/proc/net/sockstat', 'latin1').split('\n')[1],
);
await new Promise((r) => setTimeout(r, 1000));
child.stdin.end();
