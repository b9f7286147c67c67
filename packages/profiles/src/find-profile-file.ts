import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ProfileError } from './profile-error.ts';

/** The project file, looked for in the working directory and then each parent. */
export const PROJECT_FILE = 'port-linker.yml';

export interface FindProfileFileOptions {
  cwd: string;
  home: string;
  /** `-f FILE` (relative to cwd; a leading `~/` is home): must exist. */
  file?: string;
  /** `$XDG_CONFIG_HOME` when set; default `<home>/.config`. */
  configHome?: string;
}

const kind = (path: string) => {
  const s = statSync(path, { throwIfNoEntry: false });
  return s === undefined ? 'missing' : s.isDirectory() ? 'directory' : 'file';
};

/**
 * The profiles file to use, as an absolute path: `file` (-f) when given, else `port-linker.yml` in cwd or the
 * nearest parent, else `<configHome>/port-linker/profiles.yml`; undefined when there is none.
 * Throws ProfileError when `file` is given but is not a file.
 */
export function findProfileFile(options: FindProfileFileOptions): string | undefined {
  const { cwd, home, file } = options;
  if (file !== undefined) {
    const path = resolve(cwd, file.startsWith('~/') ? join(home, file.slice(2)) : file);
    const found = kind(path);
    if (found === 'file') return path;
    throw new ProfileError(
      file,
      undefined,
      found === 'missing'
        ? 'no such profiles file (given with -f); check the path'
        : 'is a directory (given with -f); name the profiles file itself',
    );
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, PROJECT_FILE);
    if (kind(candidate) === 'file') return candidate;
    if (dirname(dir) === dir) break;
  }
  const user = resolve(options.configHome ?? join(home, '.config'), 'port-linker', 'profiles.yml');
  return kind(user) === 'file' ? user : undefined;
}
