import type { PathSegment } from './yaml-locator.ts';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `profiles.devbox.forwards[1].local`, `profiles.devbox.attributes["8000-8999"]`; the root is "the file". */
export function displayPath(data: unknown, path: readonly PathSegment[]): string {
  let text = '';
  let node: unknown = data;
  for (const segment of path) {
    if (Array.isArray(node)) {
      text += `[${segment}]`;
      node = node[Number(segment)];
      continue;
    }
    const key = String(segment);
    text += IDENTIFIER.test(key) ? `${text === '' ? '' : '.'}${key}` : `[${JSON.stringify(key)}]`;
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return text === '' ? 'the file' : text;
}

/** How a value reads in an error: `"tpc"`, `70000`, `a list`, `nothing`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}

/** The value at `path` in `data`. */
export function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let node = data;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[String(segment)];
  }
  return node;
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  object: 'a map',
  array: 'a list',
  null: 'empty',
};

/** `a string or a list` for ajv's `string,array`. */
export function typeWords(types: string | readonly string[]): string {
  const list = (typeof types === 'string' ? types.split(',') : types).map((t) => TYPE_WORDS[t] ?? t);
  return list.length <= 2 ? list.join(' or ') : `${list.slice(0, -1).join(', ')} or ${list.at(-1)}`;
}
