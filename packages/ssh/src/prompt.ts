import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Asks the user something; `secret` answers are not echoed. Rejects when the user cancels. */
export interface Prompter {
  ask(question: string, opts: { secret: boolean }): Promise<string>;
}

/** A prompter on the controlling terminal (questions on stderr, answers from stdin); undefined without a TTY. */
export function ttyPrompter(): Prompter | undefined {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return { ask: (question, { secret }) => (secret ? askSecret(question) : askLine(question)) };
}

function askLine(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  return new Promise<string>((resolve, reject) => {
    rl.once('SIGINT', () => {
      rl.close();
      reject(new Error('cancelled'));
    });
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
    });
  });
}

function askSecret(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  return new Promise<string>((resolve, reject) => {
    let answer = '';
    const done = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(answer);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
        else if (ch === '\u0015') answer = '';
        else answer += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/**
 * The askpass program to use, with OpenSSH's rules (readpass.c): SSH_ASKPASS_REQUIRE=force always, =prefer when
 * a display is set, =never not at all; otherwise only without a terminal and with DISPLAY or WAYLAND_DISPLAY set.
 */
export function askpassProgram(env: NodeJS.ProcessEnv, hasTty: boolean): string | undefined {
  const program = env.SSH_ASKPASS || '/usr/bin/ssh-askpass';
  const require = env.SSH_ASKPASS_REQUIRE?.toLowerCase();
  const display = Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
  if (require === 'never') return undefined;
  if (require === 'force') return program;
  if (require === 'prefer') return display ? program : undefined;
  return !hasTty && display ? program : undefined;
}

/** Runs an askpass program with the prompt as its argument; resolves its first output line, undefined if cancelled. */
export function runAskpass(program: string, prompt: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(program, [prompt], { stdio: ['ignore', 'pipe', 'ignore'], env });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => {
      if (code !== 0) return resolve(undefined);
      resolve(
        Buffer.concat(chunks)
          .toString('utf8')
          .replace(/\r?\n$/, ''),
      );
    });
  });
}
