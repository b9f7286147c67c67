import { readFileSync } from 'node:fs';
import { type ParseOptions, parseProfiles } from './parse-profiles.ts';
import type { ProfilesFile } from './profile.ts';
import { ProfileError } from './profile-error.ts';

const READ_PROBLEMS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file; check the path',
  EISDIR: 'is a directory, not a profiles file; name the YAML file itself',
  EACCES: 'cannot be read (permission denied); check its permissions',
  EPERM: 'cannot be read (operation not permitted); check its permissions',
};

/** Reads and validates a profiles file; every problem is a one-line ProfileError naming `path`. */
export function loadProfiles(path: string, options: ParseOptions): ProfilesFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new ProfileError(path, undefined, READ_PROBLEMS[code] ?? `cannot be read (${code}); check the file`);
  }
  return parseProfiles(text, path, options);
}
