import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  decodeJsonPayload,
  EXEC_UPGRADE,
  ExecFrame,
  type ExecOpen,
  encodeFrame,
  encodeJsonFrame,
  FrameDecoder,
} from '@port-linker/proto';
import type { ExecChannel } from '@port-linker/ssh';
import { ApiError } from './api-error.ts';
import type { ConnectionPool } from './connection-pool.ts';

/** How long a client has to send OPEN after the upgrade. */
const OPEN_TIMEOUT_MS = 10_000;
/** Largest frame a client may send (stdin chunks are far smaller). */
const MAX_CLIENT_FRAME = 1024 * 1024;

/** Checks OPEN's JSON; one line on what is wrong. */
export function parseExecOpen(value: unknown): ExecOpen {
  const o = value as Partial<ExecOpen> | undefined;
  const str = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 4096;
  if (!o || typeof o !== 'object') throw new Error('OPEN must be a JSON object');
  if (!str(o.target) || /\s/.test(o.target as string) || (o.target as string).startsWith('-'))
    throw new Error('target must be a host id or [user@]host[:port]');
  if (typeof o.command !== 'string' || o.command.length > 256 * 1024)
    throw new Error('command must be a string (at most 256 KiB)');
  if (o.pty !== undefined) {
    const p = o.pty;
    const dim = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 10_000;
    if (!p || !dim(p.rows) || !dim(p.cols) || !str(p.term) || !/^[\w.+-]+$/.test(p.term))
      throw new Error('pty must be {rows, cols, term}');
  }
  if (o.persist !== undefined && (!Number.isInteger(o.persist) || o.persist < 0 || o.persist > 86_400))
    throw new Error('persist must be whole seconds from 0 to 86400');
  for (const k of ['ssh_config', 'jump', 'password_file'] as const)
    if (o[k] !== undefined && !str(o[k])) throw new Error(`${k} must be a string`);
  for (const k of ['identities', 'ssh_options'] as const)
    if (o[k] !== undefined && (!Array.isArray(o[k]) || !(o[k] as unknown[]).every(str)))
      throw new Error(`${k} must be a list of strings`);
  return o as ExecOpen;
}

/**
 * Serves one exec stream (an upgraded control-socket connection, `Upgrade: port-linker-exec/1`): reads OPEN, runs
 * the command on a pooled connection, and relays stdin, stdout, stderr, window sizes and signals both ways with
 * backpressure on each, then sends EXIT and closes. A client that goes away closes the channel (the remote process
 * gets a HUP, as when an ssh client dies).
 */
export function serveExecStream(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  pool: ConnectionPool,
  log: (msg: string) => void,
): void {
  if ((req.headers.upgrade ?? '').toLowerCase() !== EXEC_UPGRADE || req.method !== 'POST') {
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: ${EXEC_UPGRADE}\r\nconnection: Upgrade\r\n\r\n`);
  const decoder = new FrameDecoder({ maxFrameLength: MAX_CLIENT_FRAME });
  let ch: ExecChannel | undefined;
  let release: (() => void) | undefined;
  let opening = false;
  let finished = false;
  const early: Array<{ type: number; payload: Uint8Array }> = [];
  const send = (type: number, payload?: Uint8Array | string) => {
    if (!socket.destroyed) return socket.write(encodeFrame(type, payload));
    return true;
  };
  const fail = (code: string, message: string) => {
    if (finished) return;
    finished = true;
    if (!socket.destroyed) socket.end(encodeJsonFrame(ExecFrame.ERROR, { code, message }));
    release?.();
  };
  const timer = setTimeout(() => fail('timeout', `no OPEN within ${OPEN_TIMEOUT_MS / 1000} s`), OPEN_TIMEOUT_MS);
  timer.unref();

  const input = (type: number, payload: Uint8Array) => {
    const c = ch as ExecChannel;
    switch (type) {
      case ExecFrame.STDIN:
        if (!c.stdin.writableEnded && !c.stdin.write(Buffer.from(payload))) {
          socket.pause();
          c.stdin.once('drain', () => socket.resume());
        }
        break;
      case ExecFrame.STDIN_EOF:
        if (!c.stdin.writableEnded) c.stdin.end();
        break;
      case ExecFrame.RESIZE: {
        const size = decodeJsonPayload<{ rows: number; cols: number }>(payload);
        if (size && Number.isInteger(size.rows) && Number.isInteger(size.cols)) c.resize(size.rows, size.cols);
        break;
      }
      case ExecFrame.SIGNAL: {
        const name = new TextDecoder().decode(payload);
        if (/^[A-Z0-9]{1,16}$/.test(name)) c.signal(name);
        break;
      }
      default:
        break; // unknown types are skipped, as on the agent's wire
    }
  };

  const start = async (open: ExecOpen) => {
    const t0 = performance.now();
    const lease = await pool.acquire(open);
    release = lease.release;
    if (finished) return lease.release();
    const c = await lease.conn.spawn(open.command, open.pty ? { pty: open.pty } : {});
    if (finished) {
      c.close();
      return;
    }
    ch = c;
    send(
      ExecFrame.STARTED,
      JSON.stringify({ connection: lease.id, opened: lease.opened, ms: Math.round(performance.now() - t0) }),
    );
    const relay = (stream: NodeJS.ReadableStream, type: number) => {
      stream.on('data', (d: Buffer) => {
        if (!send(type, d)) {
          c.stdout.pause();
          c.stderr.pause();
          socket.once('drain', () => {
            c.stdout.resume();
            c.stderr.resume();
          });
        }
      });
    };
    relay(c.stdout, ExecFrame.STDOUT);
    relay(c.stderr, ExecFrame.STDERR);
    c.stdin.on('error', () => {}); // stdin after the remote closed its end
    for (const f of early.splice(0)) input(f.type, f.payload);
    // the channel can close before its buffered output has been read: EXIT goes after the last of it
    const ended = (r: NodeJS.ReadableStream & { readableEnded?: boolean }) =>
      new Promise<void>((res) => {
        if (r.readableEnded) res();
        else r.once('end', () => res()).once('close', () => res());
      });
    const [status] = await Promise.all([c.exit, ended(c.stdout), ended(c.stderr)]);
    if (finished) return;
    finished = true;
    lease.release();
    if (!socket.destroyed) socket.end(encodeJsonFrame(ExecFrame.EXIT, status));
  };

  const onData = (chunk: Buffer) => {
    let frames: Array<{ type: number; payload: Uint8Array }>;
    try {
      frames = decoder.push(chunk);
    } catch (err) {
      return fail('bad_frame', (err as Error).message);
    }
    for (const f of frames) {
      if (!ch && !opening) {
        if (f.type !== ExecFrame.OPEN) return fail('bad_frame', 'the first frame must be OPEN');
        opening = true;
        clearTimeout(timer);
        let open: ExecOpen;
        try {
          open = parseExecOpen(decodeJsonPayload(f.payload));
        } catch (err) {
          return fail('bad_open', (err as Error).message);
        }
        start(open).catch((err: unknown) => {
          if (err instanceof ApiError) fail(err.code, err.message);
          else {
            const msg = (err as Error)?.message ?? String(err);
            if (!/cannot run/.test(msg)) log(`exec on ${open.target} failed: ${msg}`);
            fail('exec_failed', msg.split('\n')[0] ?? msg);
          }
        });
      } else if (!ch) early.push({ type: f.type, payload: Uint8Array.from(f.payload) });
      else input(f.type, f.payload);
    }
  };
  if (head.length > 0) onData(head);
  socket.on('data', onData);
  socket.on('error', () => {});
  socket.on('close', () => {
    clearTimeout(timer);
    if (finished) return;
    finished = true;
    if (ch) {
      ch.signal('HUP');
      ch.close();
    }
    release?.();
  });
}
