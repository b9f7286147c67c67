// A tiny network service for tests, run inside a harness namespace:
//   node service.mjs tcp-echo|udp-echo|http|tcp-listen PORT [BIND]
// Prints "ready PORT" on stdout once listening (PORT is the real one when 0 was asked).
import { createSocket } from 'node:dgram';
import { createServer as createHttp } from 'node:http';
import { createServer } from 'node:net';

const [mode, portArg, bind = '0.0.0.0'] = process.argv.slice(2);
const port = Number(portArg ?? 0);
const ready = (p) => process.stdout.write(`ready ${p}\n`);
const family = bind.includes(':') ? 'udp6' : 'udp4';

if (mode === 'tcp-echo' || mode === 'tcp-listen') {
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    sock.setNoDelay(true);
    if (mode === 'tcp-echo') sock.pipe(sock);
    else sock.resume();
    sock.on('error', () => {});
  });
  server.listen({ port, host: bind, ipv6Only: bind === '::' ? false : undefined }, () => ready(server.address().port));
} else if (mode === 'udp-echo') {
  const sock = createSocket({ type: family, ipv6Only: false });
  sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
  sock.bind(port, bind, () => ready(sock.address().port));
} else if (mode === 'http') {
  // GET /bytes/N streams N zero bytes and a PUT body is drained (bulk rows of the bench); anything else says hello
  const CHUNK = Buffer.alloc(1 << 20);
  const server = createHttp((req, res) => {
    const bulk = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
    if (req.method === 'PUT') {
      let n = 0;
      req.on('data', (d) => (n += d.length)).on('end', () => res.end(`${n}\n`));
    } else if (bulk) {
      let left = Number(bulk[1]);
      res.writeHead(200, { 'content-length': left });
      const more = () => {
        while (left > 0) {
          const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
          left -= piece.length;
          if (!res.write(piece)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    } else res.end(`hello from ${bind}:${server.address().port} ${req.url}\n`);
  });
  server.listen(port, bind, () => ready(server.address().port));
} else {
  process.stderr.write(`service.mjs: unknown mode ${mode}\n`);
  process.exit(2);
}
process.on('SIGTERM', () => process.exit(0));
