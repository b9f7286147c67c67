import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough, type Readable, Writable } from 'node:stream';
import {
  decodeJsonPayload,
  EXEC_UPGRADE,
  type ExecExit,
  ExecFrame,
  type ExecOpen,
  type ExecStarted,
  encodeFrame,
  encodeJsonFrame,
  FrameDecoder,
} from '@port-linker/proto';
import { DaemonApiError, NoDaemonError } from './control-client.ts';

const { request } = process.getBuiltinModule('node:http') as typeof import('node:http');

/** Largest frame the daemon sends (its stdout chunks are far smaller). */
const MAX_DAEMON_FRAME = 4 * 1024 * 1024;

/**
 * A remote process on one of the daemon's connections: its three streams, its window size and signals, and how it
 * ended. The streams apply backpressure end to end (a slow reader of `stdout` slows the remote process down).
 */
export interface ExecSession {
  /** Which connection it runs on, whether that was opened for it, and how long the channel took. */
  readonly started: ExecStarted;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** The exit code, or the signal that killed it. Rejects when the daemon or the link went away first. */
  readonly exit: Promise<ExecExit>;
  /** A new window size for the pseudo-terminal. */
  resize(rows: number, cols: number): void;
  /** Sends a signal (`INT`, `TERM`, `HUP`, ...) to the remote process. */
  signal(name: string): void;
  /** Closes the channel (the remote process gets a HUP). */
  close(): void;
}

/** Opens an exec stream on the daemon's control socket (`POST /v1/exec`, upgraded) and starts the command. */
export function openExec(socketPath: string, open: ExecOpen, timeoutMs = 60_000): Promise<ExecSession> {
  return new Promise<ExecSession>((resolve, reject) => {
    const req = request({
      socketPath,
      method: 'POST',
      path: '/v1/exec',
      headers: { connection: 'Upgrade', upgrade: EXEC_UPGRADE },
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`the daemon did not start the command within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new NoDaemonError(socketPath));
      else reject(err);
    });
    req.on('response', (res: IncomingMessage) => {
      clearTimeout(timer);
      res.resume();
      reject(
        new DaemonApiError(
          res.statusCode ?? 0,
          'no_upgrade',
          `the daemon refused the exec stream (HTTP ${res.statusCode})`,
        ),
      );
    });
    req.on('upgrade', (_res: IncomingMessage, socket: Socket, head: Buffer) => {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const decoder = new FrameDecoder({ maxFrameLength: MAX_DAEMON_FRAME });
      let started: ExecStarted | undefined;
      let settleExit!: { resolve: (e: ExecExit) => void; reject: (err: Error) => void };
      const exit = new Promise<ExecExit>((res, rej) => {
        settleExit = { resolve: res, reject: rej };
      });
      exit.catch(() => {}); // a caller that only awaits `exit` later still sees the rejection
      let ended = false;
      const finish = (err?: Error, status?: ExecExit) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        stdout.end();
        stderr.end();
        if (!started) reject(err ?? new Error('the daemon closed the exec stream before the command started'));
        else if (status) settleExit.resolve(status);
        else settleExit.reject(err ?? new Error('the daemon closed the exec stream before the command ended'));
        socket.end();
      };
      const stdin = new Writable({
        write(chunk: Buffer, _enc, cb) {
          if (socket.destroyed) return cb();
          if (socket.write(encodeFrame(ExecFrame.STDIN, chunk))) cb();
          else socket.once('drain', () => cb());
        },
        final(cb) {
          if (!socket.destroyed) socket.write(encodeFrame(ExecFrame.STDIN_EOF));
          cb();
        },
      });
      const session: Omit<ExecSession, 'started'> = {
        stdin,
        stdout,
        stderr,
        exit,
        resize: (rows, cols) => {
          if (!socket.destroyed) socket.write(encodeJsonFrame(ExecFrame.RESIZE, { rows, cols }));
        },
        signal: (name) => {
          if (!socket.destroyed) socket.write(encodeFrame(ExecFrame.SIGNAL, name));
        },
        close: () => socket.destroy(),
      };
      const deliver = (target: PassThrough, data: Uint8Array) => {
        // a copy: the decoder's views share the socket's buffers
        if (!target.write(Buffer.from(data))) {
          socket.pause();
          target.once('drain', () => socket.resume());
        }
      };
      const onData = (chunk: Buffer) => {
        let frames: Array<{ type: number; payload: Uint8Array }>;
        try {
          frames = decoder.push(chunk);
        } catch (err) {
          return finish(err as Error);
        }
        for (const f of frames) {
          switch (f.type) {
            case ExecFrame.STARTED:
              started = decodeJsonPayload<ExecStarted>(f.payload) ?? { connection: '?', opened: false, ms: 0 };
              resolve({ ...session, started });
              break;
            case ExecFrame.STDOUT:
              deliver(stdout, f.payload);
              break;
            case ExecFrame.STDERR:
              deliver(stderr, f.payload);
              break;
            case ExecFrame.EXIT:
              finish(undefined, decodeJsonPayload<ExecExit>(f.payload) ?? { code: null });
              break;
            case ExecFrame.ERROR: {
              const e = decodeJsonPayload<{ code?: string; message?: string }>(f.payload);
              finish(new DaemonApiError(0, e?.code ?? 'error', e?.message ?? 'the daemon could not run the command'));
              break;
            }
            default:
              break;
          }
        }
      };
      socket.on('data', onData);
      socket.on('error', () => {});
      socket.on('close', () => finish());
      socket.write(encodeJsonFrame(ExecFrame.OPEN, open));
      if (head.length > 0) onData(head);
    });
    req.end();
  });
}
