/**
 * The one event stream of port-linker (schema v1): what `--json` prints, and what the daemon API and the dashboard
 * will speak. Every object has `v`, `event`, `ts` (ISO time) and `host` (the target as the user wrote it), plus the
 * fields below. Adding fields is fine; renaming one is a breaking change (a new `v`). The JSON Schema of the same
 * objects is `packages/engine/schema/events-v1.schema.json`; a test validates every event the integration tests see.
 */
import type { ConflictEvent, ForwardAddedEvent, ForwardRemovedEvent } from '@port-linker/forward';

export const EVENT_SCHEMA_VERSION = 1;

/** Fields of each event, by name. */
export interface EventFields {
  connected: { user: string; hostname: string; port: number };
  agent: {
    mode: string;
    transport: string;
    platform: string;
    bytes_uploaded?: number;
    reason?: string;
    pid?: number;
  };
  /**
   * How this host's forwarded TCP connections travel from now on (after each agent start): `direct` = streams on one
   * TLS 1.3 connection to the agent, `ssh` = direct-tcpip channels, `openssh` = OpenSSH's own client (a ControlMaster
   * holding the listeners); `mode` is what was asked (auto, direct, ssh, openssh),
   * `reason` why this kind, and the round trips measured to choose (ms).
   */
  data_path: {
    kind: 'direct' | 'ssh' | 'openssh';
    mode: string;
    reason: string;
    rtt_direct_ms?: number;
    rtt_ssh_ms?: number;
  };
  /** The forward manager's event, plus the first local address it listens on (127.0.0.1, or the host's own). */
  forward_added: ForwardAddedEvent & { local_addr: string };
  forward_removed: ForwardRemovedEvent;
  /**
   * A `-R` forward is listening on the remote: `remote_port` is the bound one (the server's pick when
   * `requested_port` is 0), or `remote_path` for a Unix socket; `target` is where its connections go here.
   */
  remote_forward_added: {
    bind_addr: string;
    remote_port: number;
    requested_port: number;
    remote_path?: string;
    target: string;
  };
  /** The server refused a `-R` forward (retried while connected; with ExitOnForwardFailure the command ends). */
  remote_forward_failed: {
    bind_addr: string;
    remote_port: number;
    remote_path?: string;
    target: string;
    reason: string;
  };
  conflict: ConflictEvent;
  disconnected: { reason: string };
  /** `error`: why the last attempt failed (absent right after a disconnect). */
  reconnecting: { attempt: number; delay_ms: number; error?: string };
  reconnected: { attempt: number };
  /**
   * An immediate check of the host (`trigger`: frozen, clock_jump): `alive` false = the SSH link was dropped and is
   * rebuilt; `agent` (when an agent runs) false = it did not answer a ping and is restarted.
   */
  health_check: { trigger: string; alive: boolean; ms: number; agent?: boolean };
  /** A host stopped for good: removed, or its first connection failed (`message` says why). */
  host_stopped: { reason: 'removed' | 'shutdown' | 'failed'; message?: string };
  error: { message: string; code?: string };
}

export type EventName = keyof EventFields;

/** One event as it goes out. */
export type EngineEvent = {
  [K in EventName]: { v: 1; event: K; ts: string; host: string } & EventFields[K];
}[EventName];

/** Builds an event object (the time is taken now unless given). */
export function makeEvent<K extends EventName>(
  host: string,
  event: K,
  fields: EventFields[K],
  ts = new Date(),
): EngineEvent {
  return { v: EVENT_SCHEMA_VERSION, event, ts: ts.toISOString(), host, ...fields } as EngineEvent;
}

/** Emits the events of one host. */
export type HostEmitter = <K extends EventName>(event: K, fields: EventFields[K]) => void;
