import type { EngineEvent } from '@port-linker/engine';

/** One change of a host's connection, as the dashboard lists it. */
export interface HistoryEntry {
  ts: string;
  event: 'connected' | 'disconnected' | 'reconnecting' | 'reconnected' | 'host_stopped' | 'error';
  detail?: string;
}

const KEPT = 20;
const TRACKED = new Set<string>(['connected', 'disconnected', 'reconnected', 'host_stopped', 'error']);

/** The last connection changes of each host (in memory: a restart starts a new history). */
export class HostHistory {
  readonly #byHost = new Map<string, HistoryEntry[]>();

  record(e: EngineEvent): void {
    if (!TRACKED.has(e.event)) return;
    const detail =
      e.event === 'disconnected'
        ? e.reason
        : e.event === 'host_stopped'
          ? (e.message ?? e.reason)
          : e.event === 'error'
            ? e.message
            : e.event === 'reconnected'
              ? `attempt ${e.attempt}`
              : e.event === 'connected'
                ? `${e.user}@${e.hostname}:${e.port}`
                : undefined;
    const list = this.#byHost.get(e.host) ?? [];
    list.push({ ts: e.ts, event: e.event as HistoryEntry['event'], ...(detail ? { detail } : {}) });
    if (list.length > KEPT) list.splice(0, list.length - KEPT);
    this.#byHost.set(e.host, list);
  }

  of(host: string): HistoryEntry[] {
    return this.#byHost.get(host) ?? [];
  }

  forget(host: string): void {
    this.#byHost.delete(host);
  }
}
