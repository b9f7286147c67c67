// Test-only host process: deploys and starts an agent, prints {"pid": <agent pid>}, then idles until killed.
// Run: node --import tsx test/support/agent-host-child.ts '<json: host, port, username, keyPath, silenceTimeoutMs>'
import { readFileSync } from 'node:fs';
import { deployAgent, startAgent } from '@port-linker/deploy';
import { Ssh2Session } from './ssh2-session.ts';

const target = JSON.parse(process.argv[2] ?? '{}') as {
  host: string;
  port: number;
  username: string;
  keyPath: string;
  silenceTimeoutMs: number;
};
const session = await Ssh2Session.connectTo({
  host: target.host,
  port: target.port,
  username: target.username,
  privateKey: readFileSync(target.keyPath),
});
const deployed = await deployAgent(session, { mode: 'node' });
const link = await startAgent(session, deployed, { silenceTimeoutMs: target.silenceTimeoutMs });
link.on('exit', (reason: string) => {
  process.stderr.write(`agent link ended: ${reason}\n`);
  process.exit(3);
});
process.stdout.write(`${JSON.stringify({ pid: link.info?.pid, mode: deployed.mode })}\n`);
setInterval(() => {}, 60_000);
