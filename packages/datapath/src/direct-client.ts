import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { MuxSession } from './mux-session.ts';
import { PSK_IDENTITY, TLS_OPTIONS } from './tls-psk.ts';

/** Where the agent's data path listens and the key it gave over SSH. */
export interface DirectTarget {
  address: string;
  port: number;
  key: Uint8Array;
}

/**
 * Connects the host's end of the direct data path: TLS 1.3 with the agent's pre-shared key (which authenticates both
 * ends: the key only ever travelled inside the SSH connection), TCP no-delay, then a MuxSession. Rejects with a
 * one-line reason on refusal, a wrong key, or no answer within `timeoutMs`.
 */
export function connectDirect(target: DirectTarget, timeoutMs: number): Promise<MuxSession> {
  return new Promise((resolve, reject) => {
    const key = Buffer.from(target.key);
    // Nagle off on the TCP socket itself: TLSSocket#setNoDelay does not reach it
    const tcp = netConnect({ host: target.address, port: target.port, noDelay: true });
    const socket = tlsConnect({
      ...TLS_OPTIONS,
      socket: tcp,
      pskCallback: () => ({ psk: key, identity: PSK_IDENTITY }),
      checkServerIdentity: () => undefined, // no certificate: the PSK handshake is the server's proof
    });
    const timer = setTimeout(() => {
      socket.destroy();
      tcp.destroy();
      reject(new Error(`no answer from ${target.address}:${target.port} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(`${target.address}:${target.port}: ${err.code ?? err.message}`));
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(new MuxSession(socket, 'client'));
    });
  });
}
