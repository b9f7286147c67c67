import {
  type Document,
  isAlias,
  isCollection,
  isScalar,
  LineCounter,
  type ParsedNode,
  parseDocument,
  visit,
  type YAMLError,
} from 'yaml';
import { buildProfile, type RawProfile } from './build-profile.ts';
import type { ProfilesFile } from './profile.ts';
import { ProfileError } from './profile-error.ts';
import { schemaIssues } from './schema-validator.ts';
import { YamlLocator } from './yaml-locator.ts';

export interface ParseOptions {
  /** The home directory: a leading `~/` in identity and ssh_config paths. */
  home: string;
}

/** The key written at `offset`, as the duplicate-key message quotes it. */
function duplicateReason(text: string, offset: number): string {
  const line = text.slice(offset).split('\n')[0] ?? '';
  const written = /^("(?:[^"\\]|\\.)*"|'[^']*'|[^:#]*?)\s*:(?:\s|$)/.exec(line)?.[1] ?? line.trim();
  const key = /^["']/.test(written) ? written.slice(1, -1) : written;
  return `duplicate key ${JSON.stringify(key)} (keys must be unique within a map); remove or rename one`;
}

/**
 * The first key problem in the file: a key repeated within its map (`3000:` and `"3000":` are the same key once
 * loaded: keys must be unique as the data sees them), or a list or map used as a key (the data can only have names).
 * One pass with a set per map: yaml's own `uniqueKeys` compares every key with every earlier one (a file of 100,000
 * profiles took minutes).
 */
function keyProblem(doc: Document.Parsed, text: string): { offset: number; reason: string } | undefined {
  let first: { offset: number; reason: string } | undefined;
  const found = (offset: number, reason: string) => {
    if (!first || offset < first.offset) first = { offset, reason };
  };
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = pair.key as ParsedNode | null;
        const target = isAlias(key) ? key.resolve(doc) : key;
        if (isCollection(target)) {
          const reason = 'a list or map is used as a key here; keys must be names or numbers';
          found(key?.range?.[0] ?? 0, reason);
        } else if (isScalar(key)) {
          const name = String(key.value);
          if (seen.has(name)) found(key.range?.[0] ?? 0, duplicateReason(text, key.range?.[0] ?? 0));
          seen.add(name);
        }
      }
    },
  });
  return first;
}

function syntaxReason(e: YAMLError): string {
  switch (e.code) {
    case 'MULTIPLE_DOCS':
      return 'a second YAML document starts here ("---"); keep the profiles in one document';
    case 'TAB_AS_INDENT':
      return 'a tab is used as indentation; indent with spaces';
    default: {
      if (/Maximum call stack size exceeded/.test(e.message))
        return 'lists or maps nest too deeply here (thousands of levels); a profiles file needs a few';
      const what = e.message.replace(/\s+/g, ' ').replace(/\.$/, '');
      return `YAML syntax error: ${what}; fix the YAML here (indentation, ":" after keys, closing quotes and brackets)`;
    }
  }
}

/**
 * Parses and validates the text of a profiles file (version 1). `file` is only used in messages and positions.
 * Throws ProfileError, one line `<file>:<line>:<col>: <problem>`, for the first problem in the file.
 */
export function parseProfiles(text: string, file: string, options: ParseOptions): ProfilesFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: false });
  const loc = new YamlLocator(file, doc, lines, text);
  const syntax = doc.errors[0];
  const key = keyProblem(doc, text);
  if (key && (!syntax || key.offset < syntax.pos[0]))
    throw new ProfileError(file, loc.position(key.offset), key.reason);
  if (syntax) throw new ProfileError(file, loc.position(syntax.pos[0]), syntaxReason(syntax));
  if (doc.contents === null) {
    throw new ProfileError(
      file,
      { line: 1, col: 1 },
      'the file is empty; start it with "version: 1" and a profiles: map',
    );
  }
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) === undefined) {
        const reason = `alias *${node.source} has no anchor &${node.source} before it; define the anchor first`;
        throw new ProfileError(file, loc.position(node.range?.[0] ?? 0), reason);
      }
    },
  });
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    const what = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ');
    throw new ProfileError(file, loc.position(doc.contents.range?.[0] ?? 0), `cannot load the YAML: ${what}`);
  }
  const issues = schemaIssues(data)
    .map((issue, order) => ({ ...issue, order, pos: loc.at(issue.path, issue.part) }))
    .sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col || a.order - b.order);
  const first = issues[0];
  if (first) throw new ProfileError(file, first.pos, first.reason);
  const profiles = (data as { profiles: Record<string, RawProfile> }).profiles;
  return {
    file,
    profiles: loc
      .entries(['profiles'], profiles)
      .map(([name, raw]) => buildProfile(name, raw, data, loc, options.home)),
  };
}
