// A bare ssh2 forwarder (the floor for port-linker's forwarding path; profiling aid, not part of `npm run bench`):
//   node bare-forwarder.mjs ADDRESS USER KEYFILE PORT...
// logs in with the key (host key not checked: bench harness only), listens on 127.0.0.1:PORT for each PORT and
// carries each accepted connection over its own direct-tcpip channel to the remote 127.0.0.1:PORT.
import { readFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import ssh2 from 'ssh2';

const [address, username, keyFile, ...ports] = process.argv.slice(2);
const sock = netConnect({ host: address, port: 22 });
sock.setNoDelay(true);
const client = new ssh2.Client();
client.on('ready', () => {
  for (const p of ports) {
    createServer({ allowHalfOpen: true }, (local) => {
      local.setNoDelay(true);
      local.on('error', () => {});
      client.forwardOut('127.0.0.1', 0, '127.0.0.1', Number(p), (err, ch) => {
        if (err) return local.destroy();
        ch.on('error', () => local.destroy());
        local.pipe(ch).pipe(local);
        ch.once('close', () => local.destroy());
      });
    }).listen(Number(p), '127.0.0.1');
  }
});
client.on('error', (err) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
client.connect({
  sock,
  username,
  privateKey: readFileSync(keyFile),
  algorithms: { cipher: ['aes128-gcm@openssh.com'] },
});
