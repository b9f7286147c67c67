import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import SSHConfig, { type Line, LineType } from 'ssh-config';
import { expandTilde, expandTokens, type TokenValues } from './config-tokens.ts';
import { SshUsageError } from './errors.ts';
import { globFiles } from './file-glob.ts';
import { matchCommaList, matchPatternList } from './host-pattern.ts';

/** One `Key value` line from a config file or `-o`, key lowercased. */
export interface ConfigDirective {
  key: string;
  /** Arguments as the parser split them (quotes removed). */
  args: string[];
  /** The value as one string (arguments joined by a space; ProxyCommand keeps its quoting). */
  raw: string;
  /** Where it came from: a file path or "command line". */
  source: string;
}

/** One thing config evaluation did for a host: a file read, or a Host/Match line and whether it applied. */
export interface ConfigTraceEntry {
  /** The host as typed (jump hosts are traced too, under their own name). */
  host: string;
  /** `option`: a directive read while its block applied (`text` is `key value`; it may lose to an earlier one). */
  kind: 'file' | 'host' | 'match' | 'option';
  /** The file, and for Host/Match lines the line as written (`Host *.internal !db`). */
  file: string;
  text: string;
  applied: boolean;
  /** 2 for the second pass a `Match final` (or `canonical`) asks for. */
  pass: 1 | 2;
}

let tracing: ConfigTraceEntry[] | undefined;

/**
 * Runs `fn` (e.g. a `resolveHost`, which is synchronous) and returns what every config evaluation inside it read and
 * which Host/Match blocks applied (for `port-linker doctor`).
 */
export function traceConfig<T>(fn: () => T): { value: T; trace: ConfigTraceEntry[] } {
  const outer = tracing;
  const trace: ConfigTraceEntry[] = [];
  tracing = trace;
  try {
    return { value: fn(), trace };
  } finally {
    tracing = outer;
  }
}

const ACCUMULATING = new Set(['identityfile', 'localforward', 'remoteforward', 'dynamicforward', 'certificatefile']);
const MAX_INCLUDE_DEPTH = 16;

/** ssh_config options with OpenSSH's rule: the first value obtained wins, except for the accumulating keys. */
export class OptionStore {
  readonly #single = new Map<string, ConfigDirective>();
  readonly #multi = new Map<string, ConfigDirective[]>();

  /** Records a directive unless an earlier one already set it (ProxyJump and ProxyCommand exclude each other). */
  set(d: ConfigDirective): void {
    if (ACCUMULATING.has(d.key)) {
      const list = this.#multi.get(d.key) ?? [];
      list.push(d);
      this.#multi.set(d.key, list);
      return;
    }
    if ((d.key === 'proxyjump' || d.key === 'proxycommand') && (this.has('proxyjump') || this.has('proxycommand')))
      return;
    if (!this.#single.has(d.key)) this.#single.set(d.key, d);
  }

  /** The winning directive of a single-valued key. */
  get(key: string): ConfigDirective | undefined {
    return this.#single.get(key);
  }

  /** Whether a single-valued key was set. */
  has(key: string): boolean {
    return this.#single.has(key);
  }

  /** Every directive of an accumulating key, in the order obtained. */
  all(key: string): ConfigDirective[] {
    return this.#multi.get(key) ?? [];
  }
}

/** A config file to read and whether it is the user's (relative Includes resolve in ~/.ssh) or the system's. */
export interface ConfigFile {
  path: string;
  scope: 'user' | 'system';
  /** A missing file is an error (the `-F` file) instead of being skipped. */
  required?: boolean;
}

/** What evaluation needs to know about the local side. */
export interface EvaluateContext {
  /** The host as typed (alias), before HostName. */
  originalHost: string;
  localUser: string;
  home: string;
  /** Values for `Match exec` tokens other than those derived from the options. */
  tokens: TokenValues;
  /** Run `Match exec` commands (OpenSSH does); default true. */
  matchExec?: boolean;
}

/** Converts an ssh-config parser line into a directive. */
export function toDirective(line: Line, source: string): ConfigDirective | undefined {
  if (line.type !== LineType.DIRECTIVE) return undefined;
  const v = line.value;
  const key = line.param.toLowerCase();
  if (typeof v === 'string') return { key, args: [v], raw: v, source };
  const args = v.map((x) => x.val);
  const raw =
    key === 'proxycommand'
      ? v
          .map((x) => `${x.separator}${x.quoted ? `"${x.val}"` : x.val}`)
          .join('')
          .trim()
      : args.join(' ');
  return { key, args, raw, source };
}

/** Parses one `-o Key=value` (or `Key value`) string into a directive; junk is a usage error. */
export function parseOptionArg(text: string): ConfigDirective {
  const parsed = SSHConfig.parse(text.trim());
  const line = parsed.length === 1 ? parsed[0] : undefined;
  const d = line ? toDirective(line, 'command line') : undefined;
  if (!d || d.raw === '' || /\r|\n/.test(text) || d.key === 'host' || d.key === 'match' || d.key === 'include') {
    throw new SshUsageError(`bad -o option "${text}": expected Option=value, e.g. -o StrictHostKeyChecking=yes`);
  }
  return d;
}

/**
 * Evaluates ssh_config files for one host like OpenSSH's readconf: lines are read in order, `Host`/`Match` switch
 * the following lines on or off, `Include` reads other files in place, and the first value obtained for an option
 * wins (command-line directives are obtained before any file). A `Match final` triggers a second pass with the
 * HostName as the host.
 */
export function evaluateConfig(files: readonly ConfigFile[], cli: readonly ConfigDirective[], ctx: EvaluateContext) {
  const store = new OptionStore();
  for (const d of cli) {
    store.set(d);
    tracing?.push({
      host: ctx.originalHost,
      kind: 'option',
      file: d.source,
      text: `${d.key} ${d.raw}`,
      applied: true,
      pass: 1,
    });
  }
  const state = { wantFinal: false, final: false };
  const cache = new Map<string, SSHConfig | null>();
  const note = (kind: ConfigTraceEntry['kind'], file: string, text: string, applied: boolean) =>
    tracing?.push({ host: ctx.originalHost, kind, file, text, applied, pass: state.final ? 2 : 1 });

  const currentHostname = (): string => {
    const hn = store.get('hostname');
    return (hn ? expandTokens(hn.args[0] ?? '', { h: ctx.originalHost }, 'HostName') : ctx.originalHost).toLowerCase();
  };
  const hostForHostLines = (): string => (state.final ? currentHostname() : ctx.originalHost);

  const load = (path: string, required: boolean): SSHConfig | null => {
    if (cache.has(path)) return cache.get(path) ?? null;
    let parsed: SSHConfig | null = null;
    try {
      parsed = SSHConfig.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (required || (code !== 'ENOENT' && code !== 'ENOTDIR')) {
        throw new SshUsageError(`cannot read ssh config ${path}: ${code ?? (err as Error).message}`);
      }
    }
    cache.set(path, parsed);
    return parsed;
  };

  const matchLine = (args: string[], source: string): boolean => {
    let result = true;
    for (let i = 0; i < args.length; i++) {
      const word = (args[i] ?? '').toLowerCase();
      const negate = word.startsWith('!');
      const attr = negate ? word.slice(1) : word;
      if (attr === 'all') continue;
      if (attr === 'canonical' || attr === 'final') {
        if (attr === 'final' && !state.final) state.wantFinal = true;
        if (state.final === negate) result = false;
        continue;
      }
      const arg = args[++i];
      if (arg === undefined) throw new SshUsageError(`${source}: Match ${attr} needs an argument`);
      if (!result) continue; // like OpenSSH: once false, later criteria (and their exec) are skipped
      let hit: boolean;
      switch (attr) {
        case 'host':
          hit = matchCommaList(currentHostname(), arg, true);
          break;
        case 'originalhost':
          hit = matchCommaList(ctx.originalHost, arg, true);
          break;
        case 'user':
          hit = matchCommaList(store.get('user')?.args[0] ?? ctx.localUser, arg);
          break;
        case 'localuser':
          hit = matchCommaList(ctx.localUser, arg);
          break;
        case 'tagged':
          hit = matchCommaList(store.get('tag')?.args[0] ?? '', arg);
          break;
        case 'exec':
          hit = ctx.matchExec !== false && runMatchExec(arg, store, ctx);
          break;
        case 'localnetwork':
        case 'version':
        case 'sessiontype':
        case 'command':
          hit = false;
          break;
        default:
          throw new SshUsageError(`${source}: unsupported Match attribute "${attr}"`);
      }
      if (hit === negate) result = false;
    }
    return result;
  };

  const apply = (d: ConfigDirective, active: boolean, scope: ConfigFile['scope'], depth: number): void => {
    if (d.key !== 'include') {
      if (active) {
        store.set(d);
        note('option', d.source, `${d.key} ${d.raw}`, true);
      }
      return;
    }
    if (!active) return;
    if (depth >= MAX_INCLUDE_DEPTH) throw new SshUsageError(`${d.source}: Include nested too deeply (loop?)`);
    for (const arg of d.args.flatMap((a) => a.split(/\s+/)).filter((a) => a !== '')) {
      let path = expandTilde(arg, ctx.home);
      if (!isAbsolute(path)) path = scope === 'user' ? join(ctx.home, '.ssh', path) : join('/etc/ssh', path);
      for (const file of /[*?]/.test(path) ? globFiles(path) : [path]) walk(file, scope, depth + 1, false);
    }
  };

  const walk = (path: string, scope: ConfigFile['scope'], depth: number, required: boolean): void => {
    const parsed = load(path, required);
    if (!parsed) return;
    note('file', path, path, true);
    let active = true;
    for (const line of parsed) {
      const d = toDirective(line, path);
      if (!d) continue;
      if (d.key === 'host' && 'config' in line) {
        active =
          matchPatternList(
            hostForHostLines(),
            d.args.flatMap((a) => a.split(/\s+/)),
          ) === 1;
        note('host', path, `Host ${d.raw}`, active);
      } else if (d.key === 'match' && 'config' in line) {
        active = matchLine(d.args, `${path}: Match ${d.raw}`);
        note('match', path, `Match ${d.raw}`, active);
      } else {
        apply(d, active, scope, depth);
        continue;
      }
      for (const inner of line.config) {
        const id = toDirective(inner, path);
        if (id) apply(id, active, scope, depth);
      }
    }
  };

  const pass = (): void => {
    for (const f of files) walk(f.path, f.scope, 0, f.required === true);
  };
  pass();
  if (state.wantFinal) {
    state.final = true;
    pass();
  }
  return store;
}

function runMatchExec(command: string, store: OptionStore, ctx: EvaluateContext): boolean {
  const hostname = store.get('hostname')?.args[0] ?? ctx.originalHost;
  const tokens: TokenValues = {
    ...ctx.tokens,
    h: expandTokens(hostname, { h: ctx.originalHost }, 'HostName'),
    n: ctx.originalHost,
    p: store.get('port')?.args[0] ?? '22',
    r: store.get('user')?.args[0] ?? ctx.localUser,
  };
  const cmd = expandTokens(command, tokens, 'Match exec');
  const r = spawnSync('/bin/sh', ['-c', cmd], { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}
