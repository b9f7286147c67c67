import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** Errno-style code of a failed bind (`EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL`, ...). */
export function bindErrorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? 'UNKNOWN';
}

/**
 * Starts a TCP listener on `address:port` (port 0 = any free port). `allowHalfOpen` so a reply
 * sent after the client's FIN still reaches it; `noDelay`: Nagle off on every accepted socket, set on the
 * handle as it is accepted (the same setsockopt as a Socket.setNoDelay call per connection, without the JS call:
 * 1.4 % of a new connection's CPU profile, too little for an A/B of 5 rounds to resolve).
 * Rejects with the errno error on failure.
 */
export function listenTcp(address: string, port: number, onConnection: (sock: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, onConnection);
    const fail = (err: Error) => {
      server.close();
      reject(err);
    };
    server.once('error', fail);
    server.listen({ host: address, port, ipv6Only: address.includes(':'), exclusive: true, backlog: 1024 }, () => {
      server.off('error', fail);
      resolve(server);
    });
  });
}

/** Port a listening server is bound to. */
export function boundPort(server: Server): number {
  const a = server.address();
  return typeof a === 'object' && a ? a.port : 0;
}

/** How a Unix socket listener is created (ssh_config StreamLocalBindMask and StreamLocalBindUnlink). */
export interface UnixBindOptions {
  /** umask for the socket file (default 0o177: the file is 0600). */
  mask?: number;
  /** Remove an existing socket file even when something still listens on it. */
  unlink?: boolean;
}

/**
 * Starts a listener on the Unix socket `path`, the file created 0600 (0666 less `mask`). An existing file is
 * removed when nothing answers on it (a stale socket from a killed run) or when `unlink` is set; a live one fails
 * with EADDRINUSE. Node removes the file again when the server closes.
 */
export async function listenUnix(
  path: string,
  options: UnixBindOptions,
  onConnection: (sock: Socket) => void,
): Promise<Server> {
  const mask = options.mask ?? 0o177;
  if (existsSync(path)) {
    if (!lstatSync(path).isSocket()) throw errnoError('EEXIST', `${path} exists and is not a socket`);
    if (!options.unlink && (await socketAnswers(path))) throw errnoError('EADDRINUSE', `${path} is in use`);
    unlinkSync(path);
  }
  return new Promise((resolve, reject) => {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, onConnection);
    const fail = (err: Error) => {
      server.close();
      reject(err);
    };
    server.once('error', fail);
    // the umask is process-wide: set only for the bind() inside listen(), which is synchronous for a path
    const old = process.umask(mask);
    try {
      server.listen({ path, backlog: 1024 }, () => {
        server.off('error', fail);
        try {
          chmodSync(path, 0o666 & ~mask);
        } catch {
          // the file is already created under the mask
        }
        resolve(server);
      });
    } finally {
      process.umask(old);
    }
  });
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function errnoError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}
