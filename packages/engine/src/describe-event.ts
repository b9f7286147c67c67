import type { EngineEvent } from './events.ts';

/** The log line a person reads for an event (the CLI's stderr, the daemon's log), or undefined for none. */
export function describeEvent(e: EngineEvent): { level: 'info' | 'warn' | 'error'; message: string } | undefined {
  switch (e.event) {
    case 'error':
      return { level: 'error', message: e.message };
    case 'forward_added': {
      const target = `${e.remote_addr.includes(':') ? `[${e.remote_addr}]` : e.remote_addr}:${e.remote_port}`;
      const local = `${e.local_addr === '127.0.0.1' ? 'localhost' : e.local_addr}:${e.local_port}`;
      return { level: 'info', message: `forwarding ${local} -> ${target}${e.process ? ` (${e.process})` : ''}` };
    }
    case 'forward_removed':
      return {
        level: 'info',
        message: `stopped localhost:${e.local_port} (remote port ${e.remote_port}: ${e.reason.replace('_', ' ')})`,
      };
    case 'conflict': {
      const where = e.local_port === undefined ? '' : ` -> localhost:${e.local_port}`;
      return {
        level: 'warn',
        message: `local port ${e.wanted_local_port} for remote port ${e.remote_port}: ${e.reason}; ${e.action}${where}`,
      };
    }
    default:
      return undefined;
  }
}
