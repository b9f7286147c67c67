import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, sep } from 'node:path';

function wildcard(text: string, pattern: string): boolean {
  let re = '^';
  for (const ch of pattern) re += ch === '*' ? '[^/]*' : ch === '?' ? '[^/]' : ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  return new RegExp(`${re}$`).test(text);
}

/**
 * Expands `*` and `?` in an absolute path like glob(3) for ssh_config `Include`: sorted, existing files only,
 * dot files matched only by patterns that start with a dot.
 */
export function globFiles(pattern: string): string[] {
  if (!isAbsolute(pattern)) return [];
  const parts = pattern.split(sep).filter((p) => p !== '');
  let bases: string[] = [sep];
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    const next: string[] = [];
    for (const base of bases) {
      if (!/[*?]/.test(part)) {
        next.push(join(base, part));
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(base).sort();
      } catch {
        continue;
      }
      for (const name of names) {
        if (name.startsWith('.') && !part.startsWith('.')) continue;
        if (wildcard(name, part)) next.push(join(base, name));
      }
    }
    bases = last ? next : next.filter((p) => isDir(p));
  }
  return bases.filter((p) => isFile(p));
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
