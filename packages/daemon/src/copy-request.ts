import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAbsolute } from 'node:path';
import { type CopyRequest, copyFiles } from '@port-linker/ssh';
import { ApiError } from './api-error.ts';
import type { ConnectionPool, PoolTarget } from './connection-pool.ts';
import { parseExecOpen } from './exec-stream.ts';

/** `POST /v1/copy`'s body: the connection (as for exec) and what to copy. */
export interface CopyBody extends PoolTarget, CopyRequest {}

/** Checks a copy request; one line on what is wrong. Local paths must be absolute (the daemon runs in `/`). */
export function parseCopyRequest(body: unknown): { target: PoolTarget; request: CopyRequest } {
  const b = body as Partial<CopyBody> | undefined;
  if (!b || typeof b !== 'object') throw new Error('the body must be a JSON object');
  const { target, identities, ssh_config, ssh_options, jump, password_file, persist } = b;
  // the connection fields are checked as exec's are
  parseExecOpen({ target, command: '', identities, ssh_config, ssh_options, jump, password_file, persist });
  if (b.direction !== 'up' && b.direction !== 'down') throw new Error('direction must be up or down');
  const path = (p: unknown) => typeof p === 'string' && p.length <= 4096 && !p.includes('\0');
  if (!Array.isArray(b.sources) || b.sources.length === 0 || b.sources.length > 10_000 || !b.sources.every(path))
    throw new Error('sources must be a list of paths');
  if (!path(b.dest)) throw new Error('dest must be a path');
  const local = b.direction === 'up' ? b.sources : [b.dest as string];
  const relative = local.find((p) => !isAbsolute(p));
  if (relative !== undefined) throw new Error(`${relative}: local paths must be absolute`);
  return {
    target: {
      target: target as string,
      ...(identities ? { identities } : {}),
      ...(ssh_config ? { ssh_config } : {}),
      ...(ssh_options ? { ssh_options } : {}),
      ...(jump ? { jump } : {}),
      ...(password_file ? { password_file } : {}),
      ...(persist === undefined ? {} : { persist }),
    },
    request: { direction: b.direction, sources: b.sources, dest: b.dest as string, recursive: b.recursive === true },
  };
}

/**
 * `POST /v1/copy`: copies over SFTP on a pooled connection, streaming progress as JSON lines (`started`, `progress`
 * at most every 100 ms, then `done` or `error`).
 */
export async function serveCopy(
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  pool: ConnectionPool,
  log: (msg: string, host: string) => void,
): Promise<void> {
  let copy: ReturnType<typeof parseCopyRequest>;
  try {
    copy = parseCopyRequest(body);
  } catch (err) {
    throw new ApiError(400, 'bad_copy', (err as Error).message);
  }
  const lease = await pool.acquire(copy.target);
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  req.socket.setTimeout(0);
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  res.write(`${JSON.stringify({ event: 'started', connection: lease.id, opened: lease.opened })}\n`);
  let last = 0;
  try {
    const result = await copyFiles(
      lease.conn,
      copy.request,
      (p) => {
        const now = performance.now();
        if (now - last < 100 && p.bytes < p.totalBytes) return;
        last = now;
        res.write(`${JSON.stringify({ event: 'progress', ...p })}\n`);
      },
      abort.signal,
    );
    res.end(`${JSON.stringify({ event: 'done', ...result })}\n`);
    const errors = result.errors.length ? ` (${result.errors.length} error(s))` : '';
    const way = copy.request.direction === 'up' ? 'to' : 'from';
    log(`copied ${result.files} file(s), ${result.bytes} bytes ${way} ${lease.id}${errors}`, lease.id);
  } catch (err) {
    res.end(`${JSON.stringify({ event: 'error', message: (err as Error).message.split('\n')[0] })}\n`);
  } finally {
    lease.release();
  }
}
