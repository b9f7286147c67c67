import type { Readable, Writable } from 'node:stream';

/** How a finished remote command ended. */
export interface ExecResult {
  code: number | null;
  signal?: string;
  stdout: Buffer;
  stderr: string;
}

/** A running remote command: its stdio and its end. */
export interface ExecChannel {
  stdout: Readable;
  stdin: Writable;
  stderr: Readable;
  exit: Promise<{ code: number | null; signal?: string }>;
  /** Closes the channel (the remote side sees its stdin close). */
  close(): void;
}

/**
 * The subset of an SSH connection that deploy needs, structurally (any SSH client can provide it;
 * deploy never imports one). Commands run through the remote user's login shell, like `ssh host cmd`.
 */
export interface RemoteSession {
  /** Runs a command to completion, feeding `stdin` (then EOF) when given. */
  exec(command: string, options?: { stdin?: Uint8Array | string; timeoutMs?: number }): Promise<ExecResult>;
  /** Starts a long-running command. */
  spawn(command: string): Promise<ExecChannel>;
  /** Writes a file over SFTP with `mode`; rejects when SFTP is not available. */
  writeFile(remotePath: string, data: Uint8Array, mode: number): Promise<void>;
}
