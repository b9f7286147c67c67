import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureStateDir } from '@port-linker/engine/state-dir';

/** Where one daemon keeps its files (one daemon per state dir). */
export interface DaemonPaths {
  stateDir: string;
  /** The control API's Unix socket (mode 0600, in a 0700 directory). */
  socket: string;
  /** Desired state (SQLite, WAL). */
  db: string;
  /** The daemon's log: one JSON object per line (`port-linker logs` reads it). */
  log: string;
  /** The detached daemon's stdout and stderr (crash traces). */
  out: string;
  /** The lock: the running daemon's pid. */
  pid: string;
}

/** Unix socket paths longer than this do not fit in sockaddr_un on every platform (macOS: 104). */
const MAX_SOCKET_PATH = 103;

/**
 * The daemon's paths under the state dir, created (0700). The socket lives in the state dir when `$PORT_LINKER_HOME`
 * is set (that variable isolates everything), else in `$XDG_RUNTIME_DIR/port-linker/` when that is set.
 */
export function daemonPaths(env: NodeJS.ProcessEnv = process.env): DaemonPaths {
  const stateDir = ensureStateDir(env);
  let socketDir = stateDir;
  if (!env.PORT_LINKER_HOME && env.XDG_RUNTIME_DIR) {
    socketDir = join(env.XDG_RUNTIME_DIR, 'port-linker');
    mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  }
  const socket = join(socketDir, 'daemon.sock');
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    throw new Error(
      `the control socket path ${socket} is longer than ${MAX_SOCKET_PATH} bytes: set PORT_LINKER_HOME to a shorter directory`,
    );
  }
  return {
    stateDir,
    socket,
    db: join(stateDir, 'state.db'),
    log: join(stateDir, 'daemon.log'),
    out: join(stateDir, 'daemon.out'),
    pid: join(stateDir, 'daemon.pid'),
  };
}
