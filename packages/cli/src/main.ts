import type { RunIo } from './run.ts';

/** Words that name a command of the daemon's (anything else is a host of the foreground command). */
const COMMANDS = new Set([
  ...['up', 'down', 'ls', 'logs', 'connect', 'disconnect', 'daemon'],
  ...['alloc', 'release', 'leases', 'lookup', 'run', 'dashboard', 'doctor'],
  ...['exec', 'cp', 'test'],
]);

// The process entry: wires signals and stdio to the command, then exits with its code. Commands load lazily, so
// `port-linker ls` does not pay for ssh2 and the engine.
const controller = new AbortController();
let stops = 0;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    stops++;
    if (stops > 1) process.exit(130); // a second Ctrl-C: stop waiting for a clean shutdown
    controller.abort();
  });
}
const argv = process.argv.slice(2);
const io: RunIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  stderrIsTty: process.stderr.isTTY === true,
  signal: controller.signal,
};
/** `--version` alone: what commander prints for it, without loading a command (scripts and the daemon check ask). */
async function printVersion(): Promise<number> {
  process.stdout.write(`${(await import('./version.ts')).VERSION_LINE}\n`);
  return 0;
}
async function dispatch(): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) return printVersion();
  if (argv[0] === 'exec') {
    // the fast path: no commander, no node:http (an exec through the daemon takes a few ms itself)
    const parsed = (await import('./commands/exec-args.ts')).parseExecArgs(argv.slice(1));
    if (parsed) {
      const { execCommand } = await import('./commands/exec-command.ts');
      const cmdIo = { ...io, env: process.env, cwd: process.cwd() };
      return execCommand(parsed.target, parsed.command, parsed.flags, cmdIo);
    }
  }
  if (COMMANDS.has(argv[0] ?? '')) return (await import('./daemon-commands.ts')).runCommand(argv, process.env, io);
  return (await import('./run.ts')).run(argv, process.env, io);
}
// no top-level await: the standalone executable's bundle is CommonJS
void dispatch().then((code) => {
  process.exitCode = code;
  // stdout may still be draining into a pipe: exit once it is written
  process.stdout.write('', () => process.exit(code));
});
