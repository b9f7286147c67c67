// Entry of the agent bundle (agent.cjs and the single executables): stdio is the host link.
import { runAgent } from './agent-process.ts';

// In a single executable argv is [exe, exe, ...args]; under node it is [node, script, ...args].
runAgent({
  argv: process.argv.slice(2),
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  exit: (code) => process.exit(code),
  onSignal: (handler) => {
    for (const s of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.on(s, () => handler(s));
  },
}).catch((err: Error) => {
  process.stderr.write(`port-linker-agent: crashed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
process.on('uncaughtException', (err) => {
  process.stderr.write(`port-linker-agent: crashed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
