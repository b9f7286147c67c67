// Echo listeners on demand, run inside the bench namespace: reads lines from stdin
//   "listen PORT [COUNT]"  -> opens COUNT (default 1) echo listeners on 127.0.0.1 from PORT, then prints "ready PORT COUNT"
//   "close PORT [COUNT]"   -> closes them, then prints "closed PORT COUNT"
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

const servers = new Map();

function listen(port) {
  return new Promise((resolve, reject) => {
    const s = createServer({ allowHalfOpen: true }, (sock) => {
      sock.setNoDelay(true);
      sock.on('error', () => {});
      sock.pipe(sock);
    });
    s.once('error', reject);
    s.listen({ port, host: '127.0.0.1', backlog: 1024 }, () => {
      servers.set(port, s);
      resolve();
    });
  });
}

createInterface({ input: process.stdin }).on('line', async (line) => {
  const [cmd, p, c] = line.trim().split(/\s+/);
  const port = Number(p);
  const count = Number(c ?? 1);
  try {
    if (cmd === 'listen') {
      await Promise.all(Array.from({ length: count }, (_, i) => listen(port + i)));
      process.stdout.write(`ready ${port} ${count}\n`);
    } else if (cmd === 'close') {
      await Promise.all(
        Array.from({ length: count }, (_, i) => new Promise((r) => servers.get(port + i)?.close(r) ?? r())),
      );
      for (let i = 0; i < count; i++) servers.delete(port + i);
      process.stdout.write(`closed ${port} ${count}\n`);
    }
  } catch (err) {
    process.stdout.write(`error ${err.message}\n`);
  }
});
process.stdin.on('end', () => process.exit(0));
