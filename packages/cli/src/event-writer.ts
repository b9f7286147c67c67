/** Machine-readable events of PRODUCT.md section 3; every object also gets `event` and `ts`. */
export interface EventMap {
  connected: { host: string; user: string; port: number };
  agent: {
    mode: string;
    transport: string;
    platform: string;
    bytes_uploaded?: number;
    reason?: string;
    pid?: number;
  };
  forward_added: {
    protocol: 'tcp' | 'udp';
    remote_addr: string;
    remote_port: number;
    local_port: number;
    process?: string;
  };
  forward_removed: { protocol: 'tcp' | 'udp'; remote_port: number; local_port: number; reason: string };
  conflict: {
    protocol: 'tcp' | 'udp';
    remote_port: number;
    wanted_local_port: number;
    action: string;
    local_port?: number;
  };
  disconnected: { reason: string };
  reconnecting: { attempt: number; delay_ms: number };
  reconnected: { attempt: number };
  error: { message: string; code?: string };
}

/** Writes one JSON object per line (stdout writes are synchronous for files and pipes on Linux). */
export class EventWriter {
  readonly #write: ((line: string) => void) | undefined;

  /** `write` undefined disables output (no --json). */
  constructor(write: ((line: string) => void) | undefined) {
    this.#write = write;
  }

  /** Emits an event. Extra fields are allowed; documented ones are never renamed. */
  emit<K extends keyof EventMap>(event: K, fields: EventMap[K]): void {
    this.#write?.(`${JSON.stringify({ event, ts: new Date().toISOString(), ...fields })}\n`);
  }
}
