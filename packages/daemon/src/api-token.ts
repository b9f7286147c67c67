import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

const newToken = () => `${randomBytes(32).toString('base64url')}\n`;

/**
 * The loopback API's bearer token: `api-token` in the state dir (0600, created once with O_EXCL so two daemons
 * never write different ones; the state dir is 0700). Read it with `cat`, send it as `Authorization: Bearer ...`.
 * An existing file is used only as a private regular file: one that others could read (a backup restored with
 * another mode, a file written by hand) is made 0600 and gets a new token, since the old one may be known
 * (`replaced` says so); a link or anything else in its place is refused.
 */
export function apiToken(stateDir: string): { path: string; value: string; replaced: boolean } {
  const path = join(stateDir, 'api-token');
  try {
    writeFileSync(path, newToken(), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NOFOLLOW);
  } catch (err) {
    throw new Error(
      `${path}: ${(err as NodeJS.ErrnoException).code === 'ELOOP' ? 'a symbolic link' : (err as Error).message}; delete it and restart the daemon`,
    );
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`${path}: not a regular file; delete it and restart the daemon`);
    const replaced = (st.mode & 0o077) !== 0;
    if (replaced) {
      fchmodSync(fd, 0o600);
      ftruncateSync(fd, 0);
      writeSync(fd, newToken(), 0);
    }
    const value = readFileSync(fd, 'utf8').trim();
    if (value.length < 32) throw new Error(`${path}: the token is too short; delete the file and restart the daemon`);
    return { path, value, replaced };
  } finally {
    closeSync(fd);
  }
}
