import { run } from './run.ts';

// The process entry: wires signals and stdio to run(), then exits with its code.
const controller = new AbortController();
let stops = 0;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    stops++;
    if (stops > 1) process.exit(130); // a second Ctrl-C: stop waiting for a clean shutdown
    controller.abort();
  });
}
const code = await run(process.argv.slice(2), process.env, {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  stderrIsTty: process.stderr.isTTY === true,
  signal: controller.signal,
});
process.exit(code);
