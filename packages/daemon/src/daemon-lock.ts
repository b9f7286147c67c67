import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

/** Another daemon holds the state dir. */
export class DaemonRunningError extends Error {
  readonly code = 'EDAEMONRUNNING';
  constructor(
    readonly pid: number,
    stateDir: string,
  ) {
    super(`a daemon already runs for ${stateDir} (pid ${pid}): use it, or stop it with \`port-linker daemon stop\``);
  }
}

/** A process's start time (Linux: clock ticks since boot), to tell a live daemon from a reused pid. */
function startTime(pid: number | 'self'): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number, started: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // after a crash the pid may be reused by another program: the start time tells (where /proc exists)
  const now = startTime(pid);
  return started === undefined || now === undefined || now === started;
}

/** The pid in a lock file, if it names a live daemon. */
export function lockHolder(path: string): number | undefined {
  try {
    const [pidText, started] = readFileSync(path, 'utf8').trim().split(' ');
    const pid = Number.parseInt(pidText ?? '', 10);
    return Number.isInteger(pid) && pid > 0 && alive(pid, started) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One daemon per state dir: the pid file, created exclusively (O_EXCL). A lock left by a dead daemon (kill -9) is
 * taken over. Returns the release function.
 */
export function acquireLock(path: string, stateDir: string): () => void {
  for (let tries = 0; ; tries++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid} ${startTime('self') ?? ''}\n`);
      } catch (err) {
        rmSync(path, { force: true }); // an empty lock (a full disk) would pass for a stale one
        throw err;
      } finally {
        closeSync(fd);
      }
      return () => {
        if (lockHolder(path) === process.pid) rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 0) {
        const holder = lockHolder(path);
        if (holder !== undefined) throw new DaemonRunningError(holder, stateDir);
        throw err;
      }
      const holder = lockHolder(path);
      if (holder !== undefined) throw new DaemonRunningError(holder, stateDir);
      rmSync(path, { force: true }); // stale
    }
  }
}
