import { isAbsolute } from 'node:path';
import type { CopyRequest } from '@port-linker/ssh';
import type { PoolTarget } from './connection-pool.ts';
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
