import type { LogLevelName } from '@port-linker/proto';

/** Default agent silence timeout. */
export const DEFAULT_SILENCE_TIMEOUT_MS = 30_000;

/** The agent's command-line arguments that the host chooses (no secrets: those travel in frames). */
export interface AgentArgs {
  /** The agent exits after this long without hearing from the host (default 30 s). */
  silenceTimeoutMs?: number;
  /** Most verbose agent log level shipped to the host (default info). */
  logLevel?: LogLevelName;
}

/** `--silence-timeout-ms N --log-level L`: the argument tail appended to the agent's start command. */
export function agentArgs(args: AgentArgs = {}): string {
  const silence = Math.max(1, Math.floor(args.silenceTimeoutMs ?? DEFAULT_SILENCE_TIMEOUT_MS));
  const level = args.logLevel ?? 'info';
  if (!/^[a-z]+$/.test(level)) throw new TypeError(`invalid agent log level ${JSON.stringify(level)}`);
  return `--silence-timeout-ms ${silence} --log-level ${level}`;
}
