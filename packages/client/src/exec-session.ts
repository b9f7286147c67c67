import { connect, type Socket } from 'node:net';
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
import { DaemonApiError, NoDaemonError } from './errors.ts';

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
export async function openExec(socketPath: string, open: ExecOpen, timeoutMs = 60_000): Promise<ExecSession> {
  // a full listen queue (a burst of streams) answers EAGAIN at once: try again shortly, for up to 5 s
  for (let attempt = 0; ; attempt++) {
    try {
      return await openOnce(socketPath, open, timeoutMs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || attempt >= 100) throw err;
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 40));
    }
  }
}

function openOnce(socketPath: string, open: ExecOpen, timeoutMs: number): Promise<ExecSession> {
  return new Promise<ExecSession>((resolve, reject) => {
    // a hand-written upgrade request on a plain socket: node:http costs more to load than the whole exec takes,
    // and OPEN goes in the same write (the daemon reads it from the bytes after the headers)
    const socket = connect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the daemon did not start the command within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    let settled = false;
    const refuse = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', (err: NodeJS.ErrnoException) =>
      refuse(err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? new NoDaemonError(socketPath) : err),
    );
    socket.write(
      `POST /v1/exec HTTP/1.1\r\nhost: daemon\r\nconnection: Upgrade\r\nupgrade: ${EXEC_UPGRADE}\r\ncontent-length: 0\r\n\r\n`,
    );
    socket.write(encodeJsonFrame(ExecFrame.OPEN, open));
    let header = Buffer.alloc(0);
    const onHeader = (chunk: Buffer) => {
      header = Buffer.concat([header, chunk]);
      const end = header.indexOf('\r\n\r\n');
      if (end < 0) {
        if (header.length > 16 * 1024) refuse(new Error('the daemon sent a malformed answer to the exec request'));
        return;
      }
      socket.off('data', onHeader);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(header.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      if (status !== 101)
        return refuse(new DaemonApiError(status, 'no_upgrade', `the daemon refused the exec stream (HTTP ${status})`));
      socket.removeAllListeners('error');
      upgraded(socket, header.subarray(end + 4));
    };
    socket.on('data', onHeader);

    const upgraded = (socket: Socket, head: Buffer) => {
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
        if (!started) refuse(err ?? new Error('the daemon closed the exec stream before the command started'));
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
              settled = true;
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
      if (head.length > 0) onData(head);
    };
  });
}
