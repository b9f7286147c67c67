import { LogLevel, type LogLevelName, PortLinkerError } from '@port-linker/proto';

/** What the agent takes from argv (never secrets: argv is visible to every user of the remote). */
export interface AgentOptions {
  /** Exit when no frame arrived from the host for this long (the host pings every few seconds). */
  silenceTimeoutMs: number;
  /** Most verbose level shipped to the host in LogBatch frames. */
  logLevel: LogLevelName;
  /** Print a JSON line about this build to stdout and exit (deploy's smoke test; never in frame mode). */
  version: boolean;
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

/** Parses `--silence-timeout-ms N`, `--log-level L`, `--version` (also `--opt=value`). */
export function parseAgentArgs(argv: readonly string[]): AgentOptions {
  const options = { ...DEFAULT_AGENT_OPTIONS };
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
      default:
        throw new AgentUsageError(arg, `unknown agent argument ${arg}: the host and agent versions may differ`);
    }
  }
  return options;
}
