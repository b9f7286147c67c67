import { isScalar, LineCounter, type ParsedNode, parseDocument, visit, type YAMLError } from 'yaml';
import { buildProfile, type RawProfile } from './build-profile.ts';
import type { ProfilesFile } from './profile.ts';
import { ProfileError } from './profile-error.ts';
import { schemaIssues } from './schema-validator.ts';
import { YamlLocator } from './yaml-locator.ts';

export interface ParseOptions {
  /** The home directory: a leading `~/` in identity and ssh_config paths. */
  home: string;
}

/** `3000:` and `"3000":` are the same key once loaded: YAML keys must be unique as the data sees them. */
const sameKey = (a: ParsedNode, b: ParsedNode) =>
  a === b || (isScalar(a) && isScalar(b) && String(a.value) === String(b.value));

function syntaxReason(e: YAMLError, text: string): string {
  const line = text.slice(e.pos[0]).split('\n')[0] ?? '';
  const written = /^("(?:[^"\\]|\\.)*"|'[^']*'|[^:#]*?)\s*:(?:\s|$)/.exec(line)?.[1] ?? line.trim();
  const key = /^["']/.test(written) ? written.slice(1, -1) : written;
  switch (e.code) {
    case 'DUPLICATE_KEY':
      return `duplicate key ${JSON.stringify(key)} (keys must be unique within a map); remove or rename one`;
    case 'MULTIPLE_DOCS':
      return 'a second YAML document starts here ("---"); keep the profiles in one document';
    case 'TAB_AS_INDENT':
      return 'a tab is used as indentation; indent with spaces';
    default: {
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
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: sameKey });
  const loc = new YamlLocator(file, doc, lines, text);
  const syntax = doc.errors[0];
  if (syntax) throw new ProfileError(file, loc.position(syntax.pos[0]), syntaxReason(syntax, text));
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
