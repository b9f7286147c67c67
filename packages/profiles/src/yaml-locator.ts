import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
  Scalar,
  type YAMLMap,
} from 'yaml';
import type { SourcePosition } from './profile.ts';
import { ProfileError } from './profile-error.ts';

/** A step in a data path: a map key or a list index. */
export type PathSegment = string | number;

interface Entry {
  key?: Node;
  value?: Node;
}

const isMergeKey = (key: unknown): boolean =>
  isScalar(key) && (key.value === '<<' || (typeof key.value === 'symbol' && key.value.description === '<<'));

/** Maps a path in the data that `doc.toJS()` returned back to where the YAML wrote it. */
export class YamlLocator {
  readonly file: string;
  readonly #doc: Document;
  readonly #lines: LineCounter;
  readonly #text: string;
  /** Each map's written keys (the first of each name), built on its first lookup: a lookup is not a scan. */
  readonly #index = new WeakMap<YAMLMap, Map<string, Entry>>();

  constructor(file: string, doc: Document, lines: LineCounter, text: string) {
    this.file = file;
    this.#doc = doc;
    this.#lines = lines;
    this.#text = text;
  }

  /** The 1-based line and column of a character offset. */
  position(offset: number): SourcePosition {
    const { line, col } = this.#lines.linePos(Math.max(0, Math.min(offset, this.#text.length)));
    return { file: this.file, line, col };
  }

  /**
   * Where the value at `path` (or, with `key`, its map key) was written. A path that is not in the YAML as such
   * (a default, something the data gained) gives its nearest written ancestor's key.
   */
  at(path: readonly PathSegment[], part: 'key' | 'value' = 'value'): SourcePosition {
    const trail = this.#trail(path);
    const last = trail.at(-1);
    const node =
      trail.length === path.length
        ? part === 'key'
          ? (last?.key ?? last?.value)
          : (last?.value ?? last?.key)
        : (last?.key ?? last?.value);
    return this.position(node?.range?.[0] ?? this.#doc.contents?.range?.[0] ?? 0);
  }

  /**
   * Where character `index` of the string at `path` was written, when the scalar is a one-line plain or quoted
   * string that reads exactly as its value; else the scalar's start.
   */
  inString(path: readonly PathSegment[], index: number): SourcePosition {
    const trail = this.#trail(path);
    const node = trail.length === path.length ? trail.at(-1)?.value : undefined;
    if (!(node instanceof Scalar) || typeof node.value !== 'string' || !node.range) return this.at(path);
    const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE;
    const start = node.range[0] + (quoted ? 1 : 0);
    const verbatim = this.#text.slice(start, start + node.value.length) === node.value && !node.value.includes('\n');
    return this.position(verbatim ? start + index : node.range[0]);
  }

  /**
   * The entries of the map at `path` in the order the file writes them (JavaScript objects put integer-like keys
   * first); keys merged with `<<` come where the merge is.
   */
  entries<T>(path: readonly PathSegment[], map: Readonly<Record<string, T>>): [string, T][] {
    const trail = this.#trail(path);
    const written =
      trail.length === path.length ? this.#keys(path.length === 0 ? this.#doc.contents : trail.at(-1)?.value, 0) : [];
    const order = [...new Set([...written.filter((k) => Object.hasOwn(map, k)), ...Object.keys(map)])];
    return order.map((k) => [k, map[k] as T]);
  }

  /** A ProfileError at the value (or key) at `path`. */
  error(path: readonly PathSegment[], reason: string, part: 'key' | 'value' = 'value'): ProfileError {
    return new ProfileError(this.file, this.at(path, part), reason);
  }

  /** The entries along `path`, as far as the YAML has them. */
  #trail(path: readonly PathSegment[]): Entry[] {
    const trail: Entry[] = [];
    let node: Node | null | undefined = this.#doc.contents;
    for (const segment of path) {
      const entry = this.#child(node, String(segment), 0);
      if (entry === undefined) break;
      trail.push(entry);
      node = entry.value;
    }
    return trail;
  }

  #child(parent: Node | null | undefined, segment: string, depth: number): Entry | undefined {
    const node = this.#deref(parent);
    if (depth > 20 || !node) return undefined;
    if (isSeq(node)) {
      const item = /^\d+$/.test(segment) ? node.items[Number(segment)] : undefined;
      return item === undefined ? undefined : { value: item as Node };
    }
    if (!isMap(node)) return undefined;
    const written = this.#written(node).get(segment);
    if (written) return written;
    // `<<: *base` or `<<: [*a, *b]`: the first source that has the key gave it.
    for (const pair of node.items) {
      if (!isMergeKey(pair.key)) continue;
      const merged = this.#deref(pair.value as Node | null);
      for (const source of isSeq(merged) ? (merged.items as Node[]) : [merged]) {
        const found = this.#child(source, segment, depth + 1);
        if (found) return found;
      }
    }
    return undefined;
  }

  #written(map: YAMLMap): Map<string, Entry> {
    let index = this.#index.get(map);
    if (index) return index;
    index = new Map();
    for (const pair of map.items) {
      if (!isScalar(pair.key) || isMergeKey(pair.key)) continue;
      const name = String(pair.key.value);
      if (!index.has(name)) index.set(name, { key: pair.key, ...(pair.value ? { value: pair.value as Node } : {}) });
    }
    this.#index.set(map, index);
    return index;
  }

  #keys(parent: Node | null | undefined, depth: number): string[] {
    const node = this.#deref(parent);
    if (depth > 20 || !isMap(node)) return [];
    const keys: string[] = [];
    for (const pair of node.items) {
      if (!isMergeKey(pair.key)) {
        if (isScalar(pair.key)) keys.push(String(pair.key.value));
        continue;
      }
      const merged = this.#deref(pair.value as Node | null);
      for (const source of isSeq(merged) ? (merged.items as Node[]) : [merged])
        keys.push(...this.#keys(source, depth + 1));
    }
    return keys;
  }

  #deref(node: Node | null | undefined): Node | undefined {
    if (isAlias(node)) return node.resolve(this.#doc) ?? undefined;
    return node ?? undefined;
  }
}
