import { ErrorCode, PortLinkerError } from '@port-linker/proto';

/** `user@host:port` as every SSH message names its host. */
export function hostLabel(h: { user?: string; hostname?: string; host?: string; port?: number }): string {
  const name = h.hostname ?? h.host ?? '?';
  const shown = name.includes(':') ? `[${name}]` : name;
  return `${h.user ? `${h.user}@` : ''}${shown}:${h.port ?? 22}`;
}

/** Authentication failed: no offered method was accepted (exit 3). */
export class AuthError extends PortLinkerError {
  readonly host: string;
  readonly tried: readonly string[];
  constructor(host: string, message: string, tried: readonly string[] = [], options?: { cause?: unknown }) {
    super(ErrorCode.Auth, message, options);
    this.host = host;
    this.tried = tried;
  }
}

/** Why a host key was refused. */
export const HostKeyProblem = {
  Unknown: 'unknown',
  Changed: 'changed',
  Revoked: 'revoked',
} as const;
/** One of the host-key refusal reasons. */
export type HostKeyProblem = (typeof HostKeyProblem)[keyof typeof HostKeyProblem];

/** The server's host key was refused (unknown under a strict policy, changed, or revoked) (exit 3). */
export class HostKeyError extends PortLinkerError {
  readonly host: string;
  readonly problem: HostKeyProblem;
  readonly fingerprint: string;
  constructor(host: string, problem: HostKeyProblem, fingerprint: string, message: string) {
    super(ErrorCode.HostKey, message);
    this.host = host;
    this.problem = problem;
    this.fingerprint = fingerprint;
  }
}

/** The host could not be reached: DNS, refused, unreachable, timed out, or the link dropped before login (exit 4). */
export class ConnectError extends PortLinkerError {
  readonly host: string;
  /** The system error code when there is one (ENOTFOUND, ECONNREFUSED, ETIMEDOUT, ...). */
  readonly errno: string | undefined;
  constructor(host: string, message: string, errno?: string, options?: { cause?: unknown }) {
    super(ErrorCode.Connect, message, options);
    this.host = host;
    this.errno = errno;
  }
}

/** A channel (exec, SFTP, direct-tcpip) could not be opened or failed. */
export class ChannelError extends PortLinkerError {
  readonly host: string;
  /** The server's reason text when it sent one (e.g. "administratively prohibited"). */
  readonly reason: string | undefined;
  constructor(host: string, message: string, reason?: string, options?: { cause?: unknown }) {
    super(ErrorCode.Channel, message, options);
    this.host = host;
    this.reason = reason;
  }
}

/** Bad command-line input or configuration (exit 2). */
export class SshUsageError extends PortLinkerError {
  constructor(message: string) {
    super(ErrorCode.Usage, message);
  }
}
