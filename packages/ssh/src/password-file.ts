import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import type { Prompter } from './prompt.ts';

/** A password file is one line; anything bigger is not one. */
const MAX_PASSWORD_FILE = 4096;

/**
 * Reads `--password-file FILE`: a regular file of this user's, mode 0600 or stricter (refused otherwise, saying what
 * to do), whose first line is the password. The password lives only in this process's memory.
 */
export function readPasswordFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'ELOOP'
          ? 'is a symbolic link (name the file itself)'
          : code === 'EACCES'
            ? 'cannot be read (permission denied)'
            : `cannot be opened (${code})`;
    throw new Error(`--password-file ${path} ${what}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`--password-file ${path} is not a regular file`);
    if (typeof process.getuid === 'function' && st.uid !== process.getuid())
      throw new Error(`--password-file ${path} belongs to another user (uid ${st.uid}): use a file of your own`);
    if ((st.mode & 0o077) !== 0)
      throw new Error(
        `--password-file ${path} is readable by others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}): run chmod 600 ${path}`,
      );
    if (st.size > MAX_PASSWORD_FILE)
      throw new Error(`--password-file ${path} is ${st.size} bytes: it should hold the password on one line`);
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < st.size) {
      const n = readSync(fd, buf, got, st.size - got, got);
      if (n === 0) break;
      got += n;
    }
    const password = buf.subarray(0, got).toString('utf8').split(/\r?\n/)[0] ?? '';
    buf.fill(0);
    if (password === '') throw new Error(`--password-file ${path} is empty: put the password on its first line`);
    return password;
  } finally {
    closeSync(fd);
  }
}

/**
 * A prompter that answers the server's password questions (password authentication, and keyboard-interactive
 * prompts that ask for a password) from a password file, and nothing else: a passphrase or a host-key question is
 * refused, as in BatchMode.
 */
export function passwordFilePrompter(path: string): Prompter {
  const password = readPasswordFile(path);
  return {
    ask: async (question, { secret }) => {
      if (secret && /password/i.test(question)) return password;
      throw new Error('not asked with --password-file');
    },
  };
}
