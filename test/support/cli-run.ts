import { spawn } from 'node:child_process';
import { CLI } from './cli-process.ts';

/** How a finished CLI run went. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI to completion (killed after `timeoutMs`, which fails the run: no command may hang); `command`
 * runs another port-linker (a standalone executable) instead.
 */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
  command: string[] = [process.execPath, CLI],
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [program, ...pre] = command;
    const child = spawn(program as string, [...pre, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`port-linker ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
