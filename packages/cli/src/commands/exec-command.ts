import { constants } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import type { ConnectionOptions } from '@port-linker/client';
import { type ExecSession, openExec } from '@port-linker/client/exec';
import { daemonPaths } from '@port-linker/daemon/client';
import type { ExecOpen } from '@port-linker/proto';
import type { CommandIo } from './command-io.ts';

/** What `exec` exits with when port-linker itself failed (as ssh does, so a remote's own codes stay distinct). */
export const EXEC_FAILED = 255;

/** The connection flags shared by `exec`, `cp` and `test` (for targets the daemon does not run as hosts). */
export interface ConnectionFlags {
  identity: string[];
  sshConfig?: string;
  o: string[];
  jump?: string;
  passwordFile?: string;
  persist?: number;
}

/** A path the user typed, made absolute (the daemon runs in another directory); `~` is left to the resolver. */
function absolutePath(path: string, cwd: string): string {
  return path.startsWith('~') || isAbsolute(path) ? path : resolve(cwd, path);
}

/** The flags as the daemon takes them (local paths made absolute: the daemon runs in `/`). */
export function connectionOptions(o: ConnectionFlags, cwd: string): ConnectionOptions {
  return {
    ...(o.identity.length ? { identities: o.identity.map((p) => absolutePath(p, cwd)) } : {}),
    ...(o.sshConfig ? { ssh_config: absolutePath(o.sshConfig, cwd) } : {}),
    ...(o.o.length ? { ssh_options: o.o } : {}),
    ...(o.jump ? { jump: o.jump } : {}),
    ...(o.passwordFile ? { password_file: absolutePath(o.passwordFile, cwd) } : {}),
    ...(o.persist === undefined ? {} : { persist: o.persist }),
  };
}

/** The exit code of a process killed by `signal`, as a shell reports it (128 + its number). */
export function signalExitCode(signal: string): number {
  const name = signal.startsWith('SIG') ? signal : `SIG${signal}`;
  const n = (constants.signals as Record<string, number>)[name];
  return n === undefined ? EXEC_FAILED : 128 + n;
}

/**
 * `port-linker exec <target> [-t] -- <command...>`: runs the command over the daemon's connection to the target (a
 * new channel: no TCP connect, key exchange or authentication), streaming stdin, stdout and stderr, passing the exit
 * code and signals through. `-t` gives it a pseudo-terminal that follows this terminal's size. With no command, a
 * login shell (with `-t`: an interactive one).
 */
export async function execCommand(
  target: string,
  command: string[],
  o: ConnectionFlags & { tty?: boolean; stdinNull?: boolean },
  io: CommandIo,
): Promise<number> {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const pty = o.tty
    ? { rows: stdout.rows ?? 24, cols: stdout.columns ?? 80, term: io.env.TERM || 'xterm-256color' }
    : undefined;
  const open: ExecOpen = {
    ...connectionOptions(o, io.cwd),
    ...(pty ? { pty } : {}),
    target,
    command: command.join(' '),
  };
  let session: ExecSession;
  try {
    // straight to the socket: no status round trip, no node:http (a daemon of another version refuses the stream's
    // protocol version); the daemon is started only when none answers
    session = await openExec(daemonPaths(io.env).socket, open).catch(async (err: Error & { code?: string }) => {
      if (err.code !== 'ENODAEMON') throw err;
      const { ensureDaemon } = await import('./daemon-client.ts');
      const { paths } = await ensureDaemon(io.env, (line) => io.stderr(`${line}\n`));
      return openExec(paths.socket, open);
    });
  } catch (err) {
    io.stderr(`port-linker: exec ${target}: ${(err as Error).message}\n`);
    return EXEC_FAILED;
  }
  const raw = o.tty && stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  const onResize = () => session.resize(stdout.rows ?? 24, stdout.columns ?? 80);
  if (o.tty && stdout.isTTY) stdout.on('resize', onResize);
  // without a terminal of its own, the remote gets this process's signals (with -t, Ctrl-C is a byte on stdin)
  const forward = (sig: NodeJS.Signals) => () => session.signal(sig.slice(3));
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const).map(
    (sig) => [sig, forward(sig)] as const,
  );
  for (const [sig, fn] of handlers) process.on(sig, fn);
  if (o.stdinNull) session.stdin.end();
  else stdin.pipe(session.stdin);
  session.stdout.pipe(stdout, { end: false });
  session.stderr.pipe(process.stderr, { end: false });
  const drained = (s: NodeJS.ReadableStream) => new Promise<void>((resolve) => s.once('end', () => resolve()));
  try {
    const [exit] = await Promise.all([session.exit, drained(session.stdout), drained(session.stderr)]);
    if (exit.signal) return signalExitCode(exit.signal);
    return exit.code ?? EXEC_FAILED;
  } catch (err) {
    io.stderr(`port-linker: exec ${target}: ${(err as Error).message}\n`);
    return EXEC_FAILED;
  } finally {
    for (const [sig, fn] of handlers) process.off(sig, fn);
    stdout.off('resize', onResize);
    stdin.unpipe(session.stdin);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    stdin.unref?.();
  }
}
