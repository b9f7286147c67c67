import { LogLevel, type LogLevelName, PortLinkerError } from '@port-linker/proto';

/** What the agent takes from argv (never secrets: argv is visible to every user of the remote). */
export interface AgentOptions {
  /** Exit when no frame arrived from the host for this long (the host pings every few seconds). */
  silenceTimeoutMs: number;
  /** Most verbose level shipped to the host in LogBatch frames. */
  logLevel: LogLevelName;
  /** Print a JSON line about this build to stdout and exit (deploy's smoke test; never in frame mode). */
  version: boolean;
  /**
   * Offer QUIC, loading it from the uploaded bundle and addon (`--quic-bundle P --quic-addon P`, node mode) or
   * from this single executable's embedded assets (`--quic-embedded`). Absent: no QUIC (nothing is loaded).
   */
  quic?: { bundle: string; addon: string } | 'embedded';
}

/** Defaults: 30 s silence (the host pings every 5 s), info logs. */
export const DEFAULT_AGENT_OPTIONS: AgentOptions = { silenceTimeoutMs: 30_000, logLevel: 'info', version: false };

/** The agent was started with arguments it does not understand. */
export class AgentUsageError extends PortLinkerError {
  readonly argument: string;
  constructor(argument: string, message: string) {
    super('USAGE', message);
    this.argument = argument;
  }
}

function intArg(name: string, raw: string | undefined, min: number, max: number): number {
  const n = Number(raw);
  if (raw === undefined || !Number.isInteger(n) || n < min || n > max) {
    throw new AgentUsageError(name, `${name} needs an integer in ${min}..${max}, got ${raw ?? 'nothing'}`);
  }
  return n;
}

function pathArg(name: string, raw: string | undefined): string {
  if (!raw?.startsWith('/')) throw new AgentUsageError(name, `${name} needs an absolute path, got ${raw ?? 'nothing'}`);
  return raw;
}

/**
 * Parses `--silence-timeout-ms N`, `--log-level L`, `--version`, `--quic-bundle P --quic-addon P` (together),
 * `--quic-embedded` (also `--opt=value`).
 */
export function parseAgentArgs(argv: readonly string[]): AgentOptions {
  const options: AgentOptions = { ...DEFAULT_AGENT_OPTIONS };
  let bundle: string | undefined;
  let addon: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = () => inline ?? argv[++i];
    switch (name) {
      case '--silence-timeout-ms':
        options.silenceTimeoutMs = intArg(name, value(), 100, 3_600_000);
        break;
      case '--log-level': {
        const level = value();
        if (level === undefined || !(level in LogLevel)) {
          throw new AgentUsageError(name, `--log-level needs one of ${Object.keys(LogLevel).join(', ')}`);
        }
        options.logLevel = level as LogLevelName;
        break;
      }
      case '--version':
        options.version = true;
        break;
      case '--quic-bundle':
        bundle = pathArg(name, value());
        break;
      case '--quic-addon':
        addon = pathArg(name, value());
        break;
      case '--quic-embedded':
        options.quic = 'embedded';
        break;
      default:
        throw new AgentUsageError(arg, `unknown agent argument ${arg}: the host and agent versions may differ`);
    }
  }
  if ((bundle === undefined) !== (addon === undefined))
    throw new AgentUsageError('--quic-bundle', '--quic-bundle and --quic-addon go together');
  if (bundle && addon) options.quic = { bundle, addon };
  return options;
}
