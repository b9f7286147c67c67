import type { ForwardManager, PortFilter } from '@port-linker/forward';
import type { connect, Prompter } from '@port-linker/ssh';
import type { HostEmitter } from './events.ts';

/** Log levels, as the CLI's logger takes them. */
export type Level = 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** Where a session logs (the CLI's Logger fits). */
export interface SessionLog {
  log(level: Level, message: string, fields?: Record<string, string | number | boolean | undefined>): void;
  warn(message: string): void;
  info(message: string): void;
  error(message: string): void;
}

/** A status line for people (the CLI's StatusView fits); optional. */
export interface SessionStatus {
  setStatus(text: string, until?: number): void;
  setAgent(text: string): void;
}

/** Collaborators of a session, injected by the engine (and by tests). */
export interface SessionDeps {
  log: SessionLog;
  emit: HostEmitter;
  manager: ForwardManager;
  filter: PortFilter;
  view?: SessionStatus;
  prompt?: Prompter;
  /** Opens the SSH connection (default: the real one; tests inject a fake). */
  connect?: typeof connect;
  /**
   * Keep retrying when the first connection fails too (the daemon: a host that is down now is wanted when it comes
   * back). Authentication and host-key failures still end the session.
   */
  persistent?: boolean;
  /** Reconnect delay of an attempt (default: 1 s doubling to 30 s). */
  backoff?: (attempt: number) => number;
  /** Whether a TCP connection to the server opens now (default: a real connect; cuts a backoff short). */
  reachable?: (host: string, port: number, timeoutMs: number) => Promise<boolean>;
}
