import type { ErrorObject } from 'ajv';
import { describeValue, displayPath, typeWords, valueAt } from './describe-data.ts';
import { closest } from './suggest.ts';
import type { PathSegment } from './yaml-locator.ts';

/** One schema problem: where (the value, or its key) and the one-line reason. */
export interface SchemaIssue {
  path: PathSegment[];
  part: 'key' | 'value';
  reason: string;
  /** An unknown key's likely meaning, or a missing key's name: a typo explains a missing key. */
  suggests?: string;
  missing?: string;
}

const PATTERN_HINTS: Readonly<Record<string, string>> = {
  host: 'must be [user@]host[:port] or an ssh_config alias (no spaces, not starting with "-")',
  jump: 'must be [user@]host[:port],... like ssh -J (no spaces, not starting with "-")',
  ports: 'must be ports and ranges like 3000,5173,8000-8999',
  exclude: 'must be ports and ranges like 9229,9000-9100',
  'ports[]': 'must be a port or a range like 8000-8999',
  'exclude[]': 'must be a port or a range like 9000-9100',
  'forwards[]': 'must be an -L forward [bind:]local:host:remote without spaces, e.g. 5432:db.internal:5432',
  'forwards[].local': 'must be a port or "address:port", e.g. 5433 or "127.0.0.1:5433"',
  'forwards[].remote': 'must be a port or "address:port", e.g. 8080 or "0.0.0.0:8080"',
};

const REQUIRED_HINTS: Readonly<Record<string, string>> = {
  version: 'add "version: 1" as the first line',
  profiles: 'add a profiles: map, e.g. profiles: { devbox: { host: dev@devbox } }',
  host: 'add host: [user@]host[:port] or an ssh_config alias',
  local: 'add local: <port> (the local port, or "address:port")',
  remote_port: 'add remote_port: <port> (the port on remote_host)',
  remote: 'add remote: <port> (the remote port to listen on)',
  local_port: 'add local_port: <port> (the local port it reaches)',
};

const FORWARD_KEYS: Readonly<Record<string, string>> = {
  local: 'local, remote_host, remote_port',
  remote: 'remote, local_host, local_port',
  dynamic: 'local',
};

/** `forwards[].local`, `attributes.*.label`, `host`: the place in a profile, without its name and indexes. */
function slotOf(path: readonly PathSegment[]): string {
  if (path[0] !== 'profiles' || path.length < 3) return path.join('.');
  let slot = '';
  let previous = '';
  for (const segment of path.slice(2)) {
    const s = String(segment);
    if (['forwards', 'ports', 'exclude', 'identity'].includes(previous) && /^\d+$/.test(s)) slot += '[]';
    else if (previous === 'attributes' || previous === 'options') slot += '.*';
    else slot += slot === '' ? s : `.${s}`;
    previous = s;
  }
  return slot;
}

function unknownKey(data: unknown, path: PathSegment[], key: string, schema: unknown): SchemaIssue {
  const known = Object.keys((schema as { properties?: object })?.properties ?? {});
  const where = path.length === 0 ? 'at the top level' : `in ${displayPath(data, path)}`;
  const guess = closest(key, known);
  const hint = guess !== undefined ? `did you mean "${guess}"?` : `known keys: ${known.join(', ')}`;
  const reason = `unknown key ${JSON.stringify(key)} ${where} (${hint})`;
  return { path: [...path, key], part: 'key', reason, ...(guess === undefined ? {} : { suggests: guess }) };
}

function badName(data: unknown, path: PathSegment[], name: string): SchemaIssue {
  const slot = slotOf(path);
  const quoted = JSON.stringify(name);
  const reason =
    path.length === 1 && path[0] === 'profiles'
      ? `profile name ${quoted} must start with a letter or digit and use only letters, digits, ".", "_" and "-"; rename it`
      : slot === 'attributes'
        ? `attributes key ${quoted} in ${displayPath(data, path.slice(0, -1))} must be a port or a range like 8000-8999`
        : slot === 'options'
          ? `ssh option ${quoted} in ${displayPath(data, path)} must be an option name like ServerAliveInterval`
          : `key ${quoted} in ${displayPath(data, path)} is not allowed`;
  return { path: [...path, name], part: 'key', reason };
}

/** Turns one ajv error into a located one-line reason; undefined for errors that only echo others. */
export function describeSchemaError(e: ErrorObject, data: unknown): SchemaIssue | undefined {
  if (e.keyword === 'if' || e.propertyName !== undefined) return undefined;
  const path = e.instancePath === '' ? [] : e.instancePath.slice(1).split('/').map(unescapePointer);
  const value = valueAt(data, path);
  const where = displayPath(data, path);
  const got = `(got ${describeValue(value)})`;
  const slot = slotOf(path);
  const params = e.params as Record<string, unknown>;
  const parent = (e.parentSchema ?? {}) as { minimum?: number; maximum?: number; properties?: object };
  switch (e.keyword) {
    case 'additionalProperties':
      return unknownKey(data, path, String(params.additionalProperty), e.parentSchema);
    case 'propertyNames':
      return badName(data, path, String(params.propertyName));
    case 'required': {
      const missing = String(params.missingProperty);
      const hint = REQUIRED_HINTS[missing] ?? `add ${missing}:`;
      return { path, part: 'key', reason: `${where} has no ${missing}; ${hint}`, missing };
    }
    case 'const':
      if (path.length === 1 && path[0] === 'version') {
        return { path, part: 'value', reason: `version must be 1 ${got}; write version: 1 (the only version so far)` };
      }
      return { path, part: 'value', reason: `${where} must be ${JSON.stringify(params.allowedValue)} ${got}` };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String).join(', ');
      return { path, part: 'value', reason: `${where} must be one of ${allowed} ${got}` };
    }
    case 'type': {
      if (path.length === 0) {
        return { path, part: 'value', reason: `the file must be a map with version: 1 and profiles: ${got}` };
      }
      return { path, part: 'value', reason: `${where} must be ${typeWords(String(params.type))} ${got}` };
    }
    case 'pattern': {
      const hint = PATTERN_HINTS[slot] ?? `must match ${String(params.pattern)}`;
      return { path, part: 'value', reason: `${where} ${hint} ${got}` };
    }
    case 'minimum':
    case 'maximum':
      return { path, part: 'value', reason: `${where} must be a port ${parent.minimum}-${parent.maximum} ${got}` };
    case 'minLength':
      return { path, part: 'value', reason: `${where} is empty; give a value or remove the key` };
    case 'minItems':
      return { path, part: 'value', reason: `${where} is an empty list; list at least one value or remove the key` };
    case 'minProperties':
      return { path, part: 'value', reason: `${where} is empty; add a profile, e.g. devbox: { host: dev@devbox }` };
    case 'false schema': {
      const key = String(path.at(-1));
      const forward = valueAt(data, path.slice(0, -1)) as { type?: string } | undefined;
      const type = forward?.type ?? 'local';
      const keys = FORWARD_KEYS[type] ?? '';
      return {
        path,
        part: 'key',
        reason: `${where}: ${key} does not belong in a ${type} forward; remove it (a ${type} forward takes ${keys})`,
      };
    }
    default:
      return { path, part: 'value', reason: `${where} ${e.message ?? 'is not valid'}` };
  }
}

const unescapePointer = (s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~');
