import type { EngineEvent } from './events.ts';

/** The log line a person reads for an event (the CLI's stderr, the daemon's log), or undefined for none. */
export function describeEvent(e: EngineEvent): { level: 'info' | 'warn' | 'error'; message: string } | undefined {
  switch (e.event) {
    case 'error':
      return { level: 'error', message: e.message };
    case 'forward_added': {
      const target =
        e.type === 'dynamic'
          ? 'SOCKS proxy out of the remote'
          : (e.remote_path ?? `${e.remote_addr.includes(':') ? `[${e.remote_addr}]` : e.remote_addr}:${e.remote_port}`);
      const local = e.local_path ?? `${e.local_addr === '127.0.0.1' ? 'localhost' : e.local_addr}:${e.local_port}`;
      const process = e.process && e.type !== 'dynamic' ? ` (${e.process})` : '';
      return { level: 'info', message: `forwarding ${local} -> ${target}${process}` };
    }
    case 'remote_forward_added': {
      const where = e.remote_path ?? `${e.bind_addr || '*'}:${e.remote_port}`;
      const target = e.target === 'socks' ? 'a SOCKS proxy answered here' : e.target;
      return { level: 'info', message: `remote ${where} -> ${target}` };
    }
    case 'remote_forward_failed':
      return { level: 'warn', message: `remote forward to ${e.target}: ${e.reason}; retrying every 5 s` };
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
