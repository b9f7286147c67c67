import { parseDynamicForward, parseLocalForward, parseRemoteForward } from '@port-linker/forward';
import { describeValue, displayPath } from './describe-data.ts';
import type { ForwardType, ProfileForward } from './profile.ts';
import type { PathSegment, YamlLocator } from './yaml-locator.ts';

/** A `forwards:` entry as the schema lets it through. */
export type RawForward =
  | string
  | {
      name?: string;
      type?: ForwardType;
      local?: number | string;
      remote_host?: string;
      remote_port?: number;
      remote?: number | string;
      local_host?: string;
      local_port?: number;
    };

const LOCAL_FORM = 'use [bind:]local:host:remote with ports 0-65535 (remote 1-65535), e.g. 5432:db.internal:5432';

/** `db.internal`, or `[fd00::1]` for an IPv6 literal. */
const hostPart = (host: string) => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);

/** Why the -L spec is refused (the forward package's own parser decides), or undefined when it is fine. */
function localSpecProblem(spec: string, type: ForwardType = 'local'): { bind?: string } | undefined {
  try {
    if (type === 'remote') parseRemoteForward(spec);
    else if (type === 'dynamic') parseDynamicForward(spec);
    else parseLocalForward(spec);
    return undefined;
  } catch (err) {
    const bind = /bind address "([^"]*)"/.exec(err instanceof Error ? err.message : '')?.[1];
    return bind === undefined ? {} : { bind };
  }
}

function specOf(f: Exclude<RawForward, string>, type: ForwardType): string {
  if (type === 'remote') return `${f.remote}:${hostPart(f.local_host ?? 'localhost')}:${f.local_port}`;
  if (type === 'dynamic') return String(f.local);
  return `${f.local}:${hostPart(f.remote_host ?? 'localhost')}:${f.remote_port}`;
}

/** The profile's forwards in file order; throws ProfileError at the entry that is wrong. */
export function buildForwards(
  raw: readonly RawForward[],
  base: readonly PathSegment[],
  data: unknown,
  loc: YamlLocator,
): ProfileForward[] {
  const forwards: ProfileForward[] = [];
  const names = new Map<string, number>();
  for (const [i, entry] of raw.entries()) {
    const path = [...base, i];
    const where = displayPath(data, path);
    const at = loc.at(path);
    if (typeof entry === 'string') {
      const problem = localSpecProblem(entry);
      if (problem?.bind !== undefined) {
        throw loc.error(
          path,
          `${where} ${describeValue(entry)}: bind address "${problem.bind}" is not an IP address; ${BIND}`,
        );
      }
      if (problem) throw loc.error(path, `${where} ${describeValue(entry)} is not an -L forward; ${LOCAL_FORM}`);
      forwards.push({ type: 'local', spec: entry, at });
      continue;
    }
    const type = entry.type ?? 'local';
    const spec = specOf(entry, type);
    const problem = localSpecProblem(spec, type);
    const flag = type === 'remote' ? '-R' : type === 'dynamic' ? '-D' : '-L';
    const side = type === 'remote' ? 'remote' : 'local';
    if (problem?.bind !== undefined) {
      const value = type === 'remote' ? entry.remote : entry.local;
      const reason = `${where}.${side} ${describeValue(value)}: "${problem.bind}" is not an IP address; ${BIND}`;
      throw loc.error([...path, side], reason);
    }
    if (problem) {
      const form = type === 'local' ? LOCAL_FORM : FORMS[type];
      throw loc.error(path, `${where} makes the ${flag} forward ${JSON.stringify(spec)}, which is not valid; ${form}`);
    }
    if (entry.name !== undefined) {
      const first = names.get(entry.name);
      if (first !== undefined) {
        const reason = `${where}.name "${entry.name}" is already the name of forwards[${first}]; give each forward its own name`;
        throw loc.error([...path, 'name'], reason);
      }
      names.set(entry.name, i);
    }
    forwards.push({ ...(entry.name === undefined ? {} : { name: entry.name }), type, spec, at });
  }
  return forwards;
}

const BIND = 'bind to 127.0.0.1, ::1, localhost or *';
const FORMS = {
  remote:
    'use remote: [bind:]port or /remote.sock with local_port (and local_host), e.g. { type: remote, remote: 9000, local_port: 3000 }',
  dynamic: 'use local: [bind:]port, e.g. { type: dynamic, local: 1080 }',
};
