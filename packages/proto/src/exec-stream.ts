import { FRAME_HEADER_SIZE } from './frame.ts';

/**
 * The frames of a remote process streamed over the daemon's control socket (`port-linker exec`, the client
 * library's `exec()`): the same [type:1][length:4 big-endian] layout as the agent's wire, its own type numbers.
 * Client to daemon: OPEN once, first (JSON), then STDIN data, STDIN_EOF, RESIZE (JSON), SIGNAL (a name). Daemon to
 * client: STARTED (JSON) or ERROR (JSON), then STDOUT and STDERR data, then EXIT (JSON) last.
 */
export const ExecFrame = {
  OPEN: 0x01,
  STDIN: 0x02,
  STDIN_EOF: 0x03,
  RESIZE: 0x04,
  SIGNAL: 0x05,
  STARTED: 0x11,
  STDOUT: 0x12,
  STDERR: 0x13,
  EXIT: 0x14,
  ERROR: 0x15,
} as const;

/** The `Upgrade` token of an exec stream (its version is the `/1`). */
export const EXEC_UPGRADE = 'port-linker-exec/1';

/** What OPEN asks for. */
export interface ExecOpen {
  /** A host id or target of the daemon's; any other target is connected on demand. */
  target: string;
  /** The command line, as `ssh host -- cmd...` sends it (joined with spaces; the remote shell parses it). */
  command: string;
  /** A pseudo-terminal (`-t`) of this size and TERM. */
  pty?: { rows: number; cols: number; term: string };
  /** Seconds an on-demand connection stays open after its last use (0: closed at once). */
  persist?: number;
  /** For an on-demand connection: identity files, ssh_config, `-o` options, jump hosts, a 0600 password file. */
  identities?: string[];
  ssh_config?: string;
  ssh_options?: string[];
  jump?: string;
  password_file?: string;
}

/** What STARTED says. */
export interface ExecStarted {
  /** The id of the daemon's connection the channel rides on. */
  connection: string;
  /** true: the connection was opened for this request (it was not pooled yet). */
  opened: boolean;
  /** Time from OPEN to the channel's confirmation. */
  ms: number;
}

/** What EXIT says: the remote exit status, or the signal that killed the process. */
export interface ExecExit {
  code: number | null;
  signal?: string;
}

/** One frame as bytes. */
export function encodeFrame(type: number, payload: Uint8Array | string = new Uint8Array(0)): Uint8Array {
  const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const out = new Uint8Array(FRAME_HEADER_SIZE + body.byteLength);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, body.byteLength);
  out.set(body, FRAME_HEADER_SIZE);
  return out;
}

/** A frame whose payload is a JSON value. */
export function encodeJsonFrame(type: number, value: unknown): Uint8Array {
  return encodeFrame(type, JSON.stringify(value));
}

/** A JSON payload back to its value (a ProtocolError-free parse: undefined on junk). */
export function decodeJsonPayload<T>(payload: Uint8Array): T | undefined {
  try {
    return JSON.parse(new TextDecoder().decode(payload)) as T;
  } catch {
    return undefined;
  }
}
