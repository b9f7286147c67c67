import type { LogLevelName } from '@port-linker/proto';
import { shellQuote } from './shell-quote.ts';

/** Default agent silence timeout. */
export const DEFAULT_SILENCE_TIMEOUT_MS = 30_000;

/** Where the agent loads QUIC from: the uploaded bundle and addon (absolute remote paths), or its embedded assets. */
export type AgentQuic = { bundle: string; addon: string } | 'embedded';

/** The agent's command-line arguments that the host chooses (no secrets: those travel in frames). */
export interface AgentArgs {
  /** The agent exits after this long without hearing from the host (default 30 s). */
  silenceTimeoutMs?: number;
  /** Most verbose agent log level shipped to the host (default info). */
  logLevel?: LogLevelName;
  /** Offer QUIC, loaded from there (absent: the agent loads nothing of QUIC). */
  quic?: AgentQuic;
}

/** `--silence-timeout-ms N --log-level L [--quic-bundle P --quic-addon P | --quic-embedded]`: the start command's tail. */
export function agentArgs(args: AgentArgs = {}): string {
  const silence = Math.max(1, Math.floor(args.silenceTimeoutMs ?? DEFAULT_SILENCE_TIMEOUT_MS));
  const level = args.logLevel ?? 'info';
  if (!/^[a-z]+$/.test(level)) throw new TypeError(`invalid agent log level ${JSON.stringify(level)}`);
  return `--silence-timeout-ms ${silence} --log-level ${level}${quicArgs(args.quic)}`;
}

function quicArgs(quic: AgentQuic | undefined): string {
  if (!quic) return '';
  if (quic === 'embedded') return ' --quic-embedded';
  return ` --quic-bundle ${shellQuote(quic.bundle)} --quic-addon ${shellQuote(quic.addon)}`;
}
