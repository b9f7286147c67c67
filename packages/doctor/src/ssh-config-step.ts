import { homedir } from 'node:os';
import {
  type ConfigTraceEntry,
  parseTarget,
  type ResolvedHost,
  type ResolveEnv,
  resolveHost,
  type SshCliOptions,
  traceConfig,
} from '@port-linker/ssh';
import { pass, type StepOutcome } from './step-result.ts';
import { unsupportedMessages } from './unsupported-options.ts';

/** A target resolved through ssh_config, with what the evaluation read and which blocks applied. */
export interface TracedHost {
  host: ResolvedHost;
  trace: ConfigTraceEntry[];
}

/** resolveHost, traced (throws SshUsageError for bad input, as resolveHost does). */
export function resolveTraced(target: string, cli: SshCliOptions, env: ResolveEnv = {}): TracedHost {
  const { value, trace } = traceConfig(() => resolveHost(parseTarget(target), cli, env));
  return { host: value, trace };
}

/** `~/...` for paths in the home directory: shorter lines. */
export function tildePath(path: string, home = homedir()): string {
  return path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

/** The step's line: files read, blocks that applied, where it goes, and any unsupported keyword. */
export function configOutcome(t: TracedHost): StepOutcome {
  const h = t.host;
  const mine = t.trace.filter((e) => e.host === h.alias);
  const files = [...new Set(mine.filter((e) => e.kind === 'file').map((e) => tildePath(e.file)))];
  const blocks = mine
    .filter((e) => (e.kind === 'host' || e.kind === 'match') && e.applied)
    .map((e) => `${e.text} (${tildePath(e.file)}${e.pass === 2 ? ', final pass' : ''})`);
  const via = h.proxyCommand
    ? `, ProxyCommand ${h.proxyCommand}`
    : h.proxyJump.length
      ? `, via ${h.proxyJump.map((j) => `${j.user}@${j.hostname}:${j.port}`).join(' -> ')}`
      : '';
  const unsupported = unsupportedMessages(t.trace, h.alias);
  const parts = [
    `${h.user}@${h.hostname}:${h.port}${via}`,
    `read ${files.length ? files.join(', ') : 'no config file'}`,
    `applied ${blocks.length ? blocks.join(', ') : 'no Host/Match block'}`,
    ...(unsupported.length ? [`not supported: ${unsupported.join('; ')}`] : []),
  ];
  return pass(parts.join('; '));
}
