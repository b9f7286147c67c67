import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createTcpServer, connect as netConnect } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import { pipeBoth } from '@port-linker/forward';
import { MuxSession } from './mux-session.ts';
import { PSK_IDENTITY, TLS_OPTIONS } from './tls-psk.ts';

/** The agent's end of the direct data path, listening. */
export interface DirectServer {
  port: number;
  /** A TCP echo on 127.0.0.1: the host times a round trip through SSH and through this path against it. */
  echoPort: number;
  /** The 32-byte pre-shared key: only the host that got it over SSH can connect. */
  key: Uint8Array;
  close(): void;
}

/** Unauthenticated TLS connections are dropped after this long. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Listens on `address` (the remote address the SSH client reached) port 0 for TLS 1.3 with a fresh pre-shared key;
 * each authenticated connection is a MuxSession whose streams are dialled here (`host:port` from OPEN) and piped.
 * A dial that fails resets its stream with the reason.
 */
export async function startDirectServer(address: string, log?: (msg: string) => void): Promise<DirectServer> {
  const key = randomBytes(32);
  const sessions = new Set<MuxSession>();
  const sockets = new Set<{ destroy(): void }>();
  let closed = false;
  const server = createServer({
    ...TLS_OPTIONS,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    noDelay: true,
    pskCallback: (_socket, identity) => (identity === PSK_IDENTITY ? key : null),
  });
  server.on('tlsClientError', (err) => log?.(`data path: a TLS client was refused: ${err.message.split('\n')[0]}`));
  server.on('connection', (raw) => {
    sockets.add(raw);
    raw.once('close', () => sockets.delete(raw));
  });
  server.on('secureConnection', (tls: TLSSocket) => {
    if (closed) {
      tls.destroy();
      return;
    }
    const session = new MuxSession(tls, 'server');
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.on('stream', (stream, host, port) => {
      const sock = netConnect({ host, port, allowHalfOpen: true, noDelay: true });
      sock.once('error', (err: NodeJS.ErrnoException) => {
        stream.destroy(new Error(`connect to ${host}:${port} failed: ${err.code ?? err.message}`));
      });
      pipeBoth(sock, stream, true);
    });
  });
  const echo = createTcpServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  echo.listen({ host: '127.0.0.1', port: 0 });
  await once(echo, 'listening');
  const echoAddr = echo.address();
  const echoPort = typeof echoAddr === 'object' && echoAddr ? echoAddr.port : 0;
  return new Promise((resolve, reject) => {
    server.once('error', (err) => {
      echo.close();
      reject(err);
    });
    server.listen({ host: address, port: 0 }, () => {
      server.removeAllListeners('error');
      server.on('error', (err) => log?.(`data path listener: ${err.message}`));
      const a = server.address();
      resolve({
        port: typeof a === 'object' && a ? a.port : 0,
        echoPort,
        key,
        close: () => {
          closed = true;
          server.close();
          echo.close();
          for (const s of sessions) s.close();
          for (const s of sockets) s.destroy();
        },
      });
    });
  });
}
