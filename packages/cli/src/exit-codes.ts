import { ErrorCode, PortLinkerError } from '@port-linker/proto';

/** Process exit codes (docs/PRODUCT.md, section 2). */
export const ExitCode = { ok: 0, failure: 1, usage: 2, auth: 3, connect: 4 } as const;

/** The one place that turns an error into an exit code. */
export function exitCodeFor(err: unknown): number {
  if (!(err instanceof PortLinkerError)) return ExitCode.failure;
  switch (err.code) {
    case ErrorCode.Usage:
      return ExitCode.usage;
    case ErrorCode.Auth:
    case ErrorCode.HostKey:
      return ExitCode.auth;
    case ErrorCode.Connect:
      return ExitCode.connect;
    default:
      return ExitCode.failure;
  }
}

/** One line for the user: the error's message, never a stack trace. */
export function errorLine(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.message;
  return String(err);
}
