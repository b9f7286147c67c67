import { closeSync, openSync, readSync } from 'node:fs';
import { type ParseOptions, parseProfiles } from './parse-profiles.ts';
import type { ProfilesFile } from './profile.ts';
import { ProfileError } from './profile-error.ts';

const READ_PROBLEMS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file; check the path',
  EISDIR: 'is a directory, not a profiles file; name the YAML file itself',
  EACCES: 'cannot be read (permission denied); check its permissions',
  EPERM: 'cannot be read (operation not permitted); check its permissions',
};

/**
 * Largest profiles file read (a hand-written file of thousands of profiles is a few hundred KB). Parsing keeps ~100
 * times the text in memory, so a file of 50 MB (or /dev/zero) is refused, not read.
 */
export const MAX_PROFILES_FILE = 1024 * 1024;

/** The file's text, read up to `max` bytes (a pipe or a device works too; `size` from stat is not trusted). */
function readBounded(path: string, max: number): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n <= max; n += got) got = readSync(fd, buf, n, buf.length - n, null);
    if (n > max)
      throw new ProfileError(
        path,
        undefined,
        `is over ${max / 1024 / 1024} MiB, more than a profiles file ever needs; is it the right file?`,
      );
    return buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}

/** Reads and validates a profiles file; every problem is a one-line ProfileError naming `path`. */
export function loadProfiles(path: string, options: ParseOptions): ProfilesFile {
  let text: string;
  try {
    text = readBounded(path, MAX_PROFILES_FILE);
  } catch (err) {
    if (err instanceof ProfileError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new ProfileError(path, undefined, READ_PROBLEMS[code] ?? `cannot be read (${code}); check the file`);
  }
  return parseProfiles(text, path, options);
}
