import { spawn } from 'node:child_process';

/** Result of a finished command. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without a shell; rejects with its stderr unless `allowFail`. */
export function run(argv: readonly string[], opts: { allowFail?: boolean; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (!cmd) throw new Error('run: empty argv');
    const child = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 && !opts.allowFail) {
        reject(new Error(`${argv.join(' ')} exited ${code}: ${stderr.trim()}`));
      } else resolve({ code, stdout, stderr });
    });
    child.stdin?.on('error', () => {}); // the child may exit without reading: EPIPE is not our failure
    child.stdin?.end(opts.input);
  });
}

/** Polls `check` every `everyMs` until it returns true, or rejects after `timeoutMs` with `what`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
  everyMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
