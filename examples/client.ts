// A runnable example of @port-linker/client: `node --import tsx examples/client.ts <host>` with a daemon running
// (`port-linker connect --no-auto <host>`). Lists the daemon's hosts, runs a command on <host> over the daemon's
// connection, adds and removes a forward, and prints the events of the next two seconds.
import { PortLinkerClient } from '@port-linker/client';

const target = process.argv[2];
if (!target) {
  console.error('usage: node --import tsx examples/client.ts <host of the daemon>');
  process.exit(2);
}
const pl = new PortLinkerClient();
for (const h of await pl.hosts()) console.log(`${h.id}: ${h.state}, ${h.forwards.length} forward(s)`);
const { code, stdout } = await pl.run(target, 'uname -a');
console.log(`uname -a exited ${code}: ${stdout.toString().trim()}`);
const key = await pl.addForward(target, '127.0.0.1:18080:localhost:22');
console.log(`forward ${key} listens`);
await pl.removeForward(target, key);
await pl.events((e) => console.log('event', e.event, e.host ?? ''), AbortSignal.timeout(2000));
