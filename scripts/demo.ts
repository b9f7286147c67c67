// The demo behind `npm run demo`: a throwaway remote with a web server and a TCP echo, mirrored
// by port-linker until Ctrl-C. Extra arguments go to port-linker (e.g. `npm run demo -- --json`).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RemoteHost } from '../test/harness/index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (s: string) => process.stderr.write(`demo: ${s}\n`);

say('starting a throwaway remote host (network namespace + OpenSSH sshd)...');
const host = await RemoteHost.start();
const web = await host.serve('http', 8000, '0.0.0.0');
const echo = await host.serve('tcp-echo', 7777, '127.0.0.1');
say(`remote ${host.user}@${host.address} runs a web server on :${web.port} and a TCP echo on 127.0.0.1:${echo.port}`);
say(`try: curl http://localhost:${web.port}/   and   nc localhost ${echo.port}   (Ctrl-C stops and cleans up)`);
say('start another service on the remote and watch it appear:');
say(`  ip netns exec ${host.ns} python3 -m http.server 9090`);

const cli = spawn(
  process.execPath,
  [join(root, 'packages/cli/bin/port-linker.js'), ...host.portLinkerArgs(), host.target, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  cli.kill('SIGINT');
};
// Ctrl-C on a terminal reaches port-linker too (same process group): only forward SIGTERM.
process.on('SIGINT', () => {});
process.on('SIGTERM', stop);
const code = await new Promise<number>((resolve) => cli.on('exit', (c) => resolve(c ?? 1)));
await host.close();
say('remote host removed');
process.exit(code);
