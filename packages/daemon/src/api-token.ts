import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The loopback API's bearer token: `api-token` in the state dir (0600, created once with O_EXCL so two daemons
 * never write different ones; the state dir is 0700). Read it with `cat`, send it as `Authorization: Bearer ...`.
 */
export function apiToken(stateDir: string): { path: string; value: string } {
  const path = join(stateDir, 'api-token');
  try {
    writeFileSync(path, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const value = readFileSync(path, 'utf8').trim();
  if (value.length < 32) throw new Error(`${path}: the token is too short; delete the file and restart the daemon`);
  return { path, value };
}
