import { isIP } from 'node:net';
import { join } from 'node:path';
import { type PortAttributeRule, PortAttributes, parsePortList } from '@port-linker/forward';
import { displayPath } from './describe-data.ts';
import { buildForwards, type RawForward } from './forwards.ts';
import { normalisePortList, parsePortRange } from './port-list.ts';
import {
  type AgentMode,
  type ConflictPolicy,
  type LogLevel,
  type OnForward,
  PROFILE_DEFAULTS,
  type Profile,
  type Protocol,
  type Transport,
} from './profile.ts';
import { ProfileError } from './profile-error.ts';
import type { PathSegment, YamlLocator } from './yaml-locator.ts';

type PortListValue = string | number | (string | number)[];

/** A profile as the schema lets it through (snake_case, as written). */
export interface RawProfile {
  host: string;
  jump?: string;
  identity?: string | string[];
  ssh_config?: string;
  options?: Record<string, string | number | boolean>;
  auto?: boolean;
  ports?: PortListValue;
  exclude?: PortListValue;
  default_excludes?: boolean;
  protocol?: Protocol;
  transport?: Transport;
  conflict?: ConflictPolicy;
  agent?: AgentMode;
  bind_address?: string;
  log_level?: LogLevel;
  forwards?: RawForward[];
  attributes?: Record<string, { label?: string; on_forward?: OnForward; require_local_port?: boolean }>;
}

/** Checks and fills in one profile; `data` is the whole file (for paths in messages). */
export function buildProfile(name: string, raw: RawProfile, data: unknown, loc: YamlLocator, home: string): Profile {
  const base = ['profiles', name];
  const expand = (p: string) => (p.startsWith('~/') ? join(home, p.slice(2)) : p);
  const identities = raw.identity === undefined ? [] : typeof raw.identity === 'string' ? [raw.identity] : raw.identity;
  const forwards = buildForwards(raw.forwards ?? [], [...base, 'forwards'], data, loc);
  const auto = raw.auto ?? PROFILE_DEFAULTS.auto;
  if (!auto && forwards.length === 0) {
    const reason = `${displayPath(data, [...base, 'auto'])} is false but there are no forwards; add forwards: [8080:localhost:80] or remove auto: false`;
    throw loc.error([...base, 'auto'], reason);
  }
  const ports = portList(raw.ports, [...base, 'ports'], data, loc);
  const exclude = portList(raw.exclude, [...base, 'exclude'], data, loc);
  return {
    name,
    host: raw.host,
    ...(raw.jump === undefined ? {} : { jump: raw.jump }),
    identities: identities.map(expand),
    ...(raw.ssh_config === undefined ? {} : { sshConfig: expand(raw.ssh_config) }),
    sshOptions: sshOptions(raw.options ?? {}, [...base, 'options'], data, loc),
    auto,
    protocol: raw.protocol ?? PROFILE_DEFAULTS.protocol,
    transport: raw.transport ?? PROFILE_DEFAULTS.transport,
    agent: raw.agent ?? PROFILE_DEFAULTS.agent,
    conflict: raw.conflict ?? PROFILE_DEFAULTS.conflict,
    ...(raw.bind_address === undefined ? {} : { bindAddress: bindAddress(raw.bind_address, base, data, loc) }),
    ...(ports === undefined ? {} : { ports }),
    ...(exclude === undefined ? {} : { exclude }),
    defaultExcludes: raw.default_excludes ?? PROFILE_DEFAULTS.defaultExcludes,
    logLevel: raw.log_level ?? PROFILE_DEFAULTS.logLevel,
    forwards,
    attributes: attributes(raw.attributes ?? {}, [...base, 'attributes'], data, loc),
    at: loc.at(base, 'key'),
  };
}

function portList(value: PortListValue | undefined, path: PathSegment[], data: unknown, loc: YamlLocator) {
  if (value === undefined) return undefined;
  const where = displayPath(data, path);
  const text = normalisePortList(value);
  if (typeof text !== 'string') {
    const reason = `${where} has ${JSON.stringify(text.item)}, which is not a port or range; use ports 1-65535 and ranges low-high, e.g. 3000,5173,8000-8999`;
    if (text.listIndex !== undefined) throw loc.error([...path, text.listIndex], reason);
    throw new ProfileError(loc.file, loc.inString(path, text.offset ?? 0), reason);
  }
  try {
    parsePortList(text, where); // the engine's own parser must agree
  } catch (err) {
    throw loc.error(path, err instanceof Error ? err.message : String(err));
  }
  return text;
}

function sshOptions(
  options: Record<string, string | number | boolean>,
  path: PathSegment[],
  data: unknown,
  loc: YamlLocator,
) {
  const out: Record<string, string> = {};
  const seen = new Map<string, string>();
  for (const [key, value] of loc.entries(path, options)) {
    const where = `ssh option ${key} in ${displayPath(data, path)}`;
    const first = seen.get(key.toLowerCase());
    if (first !== undefined) {
      throw loc.error([...path, key], `${where} repeats ${first} (ssh options ignore case); keep one`, 'key');
    }
    seen.set(key.toLowerCase(), key);
    const text = typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value).trim();
    if (text === '') throw loc.error([...path, key], `${where} has no value; give one, e.g. ServerAliveInterval: 15`);
    out[key] = text;
  }
  return out;
}

function bindAddress(addr: string, base: PathSegment[], data: unknown, loc: YamlLocator): string {
  if (addr === 'auto' || (isIP(addr) === 4 && addr.startsWith('127.')) || addr === '::1') return addr;
  const path = [...base, 'bind_address'];
  const reason = `${displayPath(data, path)} "${addr}": port-linker listens on loopback only; use 127.0.0.x, ::1 or auto`;
  throw loc.error(path, reason);
}

function attributes(map: NonNullable<RawProfile['attributes']>, path: PathSegment[], data: unknown, loc: YamlLocator) {
  const rules: PortAttributeRule[] = [];
  const keys = new Map<string, string>();
  for (const [key, a] of loc.entries(path, map)) {
    const where = `attributes key "${key}" in ${displayPath(data, path.slice(0, -1))}`;
    const range = parsePortRange(key);
    if (!range) {
      throw loc.error([...path, key], `${where} must be a port 1-65535 or a range low-high with low <= high`, 'key');
    }
    const id = `${range.low}-${range.high}`;
    const first = keys.get(id);
    if (first !== undefined)
      throw loc.error([...path, key], `${where} names the same ports as "${first}"; keep one`, 'key');
    keys.set(id, key);
    rules.push({
      ...range,
      ...(a.label === undefined ? {} : { label: a.label }),
      ...(a.on_forward === undefined ? {} : { onForward: a.on_forward }),
      ...(a.require_local_port === undefined ? {} : { requireLocalPort: a.require_local_port }),
    });
  }
  return new PortAttributes(rules);
}
