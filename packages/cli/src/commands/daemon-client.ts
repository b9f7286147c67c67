import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import {
  ControlClient,
  type DaemonPaths,
  type DaemonStatus,
  daemonPaths,
  NoDaemonError,
  noRoomToStart,
} from '@port-linker/client';
import { selfCommand } from '../self-command.ts';
import { VERSION } from '../version.ts';

export type { DaemonStatus } from '@port-linker/client';

/** The daemon is another version than this CLI. */
export function versionProblem(status: DaemonStatus): string | undefined {
  if (status.version === VERSION) return undefined;
  return `the daemon (pid ${status.pid}) is port-linker ${status.version} and this is ${VERSION}: run \`port-linker daemon stop\` then retry (its hosts come back on the next start)`;
}

/** A client of this state dir's daemon (which may not run). */
export function clientFor(env: NodeJS.ProcessEnv): { client: ControlClient; paths: DaemonPaths } {
  const paths = daemonPaths(env);
  return { client: new ControlClient(paths.socket), paths };
}

/** The last non-empty line of the daemon's output file (why it did not start). */
function lastLine(path: string): string {
  try {
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    return lines[lines.length - 1] ?? '';
  } catch {
    return '';
  }
}

/**
 * The running daemon, started (detached, its output in the state dir) when none runs. Refuses a daemon of another
 * version, saying what to do.
 */
export async function ensureDaemon(
  env: NodeJS.ProcessEnv,
  status: (line: string) => void,
): Promise<{ client: ControlClient; paths: DaemonPaths; started: boolean }> {
  const { client, paths } = clientFor(env);
  const check = (s: DaemonStatus) => {
    const problem = versionProblem(s);
    if (problem) throw new Error(problem);
  };
  try {
    check(await client.call<DaemonStatus>('GET', '/v1/status'));
    return { client, paths, started: false };
  } catch (err) {
    if (!(err instanceof NoDaemonError)) throw err;
  }
  status(`starting the daemon (state in ${paths.stateDir})`);
  const out = openSync(paths.out, 'a', 0o600);
  const self = selfCommand('daemon', 'run');
  const child = spawn(self.program, self.args, {
    detached: true,
    stdio: ['ignore', out, out],
    env,
    cwd: '/',
  });
  closeSync(out);
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  child.unref();
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      const s = await client.call<DaemonStatus>('GET', '/v1/status');
      check(s);
      return { client, paths, started: true };
    } catch (err) {
      if (!(err instanceof NoDaemonError)) throw err;
    }
    if (exited !== undefined) {
      // a full disk leaves daemon.out empty: say the reason itself
      const why = (lastLine(paths.out) || noRoomToStart(paths.stateDir))
        ?.replace(/^port-linker: error: /, '')
        .replace(/^cannot start the daemon: /, '');
      throw new Error(`the daemon did not start (exit ${exited}): ${why || `see ${paths.out}`}`);
    }
    await delay(50);
  }
  throw new Error(`the daemon did not answer within 15 s: see ${paths.out} and ${paths.log}`);
}
