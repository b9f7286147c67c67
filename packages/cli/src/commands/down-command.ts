import type { HostView } from '@port-linker/client';
import type { CommandIo } from './command-io.ts';
import { clientFor } from './daemon-client.ts';

/**
 * `port-linker down [profile|host...] | --all`: stops hosts in the daemon and forgets them (their listeners close);
 * the daemon stays up. A name is a daemon host id (a profile's name, or a `connect` target) or a profile's target.
 */
export async function downCommand(names: string[], opts: { all?: boolean }, io: CommandIo): Promise<number> {
  if (opts.all && names.length > 0) throw new UsageError('down: name hosts or use --all, not both');
  if (!opts.all && names.length === 0) throw new UsageError('down: name the profiles or hosts to stop, or use --all');
  const { client } = clientFor(io.env);
  const { hosts } = await client.call<{ hosts: HostView[] }>('GET', '/v1/hosts');
  const ids = opts.all
    ? hosts.map((h) => h.id)
    : names.map((n) => {
        const h = hosts.find((x) => x.id === n) ?? hosts.find((x) => x.target === n);
        if (!h) throw new Error(`no host ${n} in the daemon (running: ${hosts.map((x) => x.id).join(', ') || 'none'})`);
        return h.id;
      });
  for (const id of ids) {
    await client.call('DELETE', `/v1/hosts/${encodeURIComponent(id)}`);
    io.stderr(`down: ${id} stopped\n`);
  }
  if (ids.length === 0) io.stderr('down: no hosts were running\n');
  return 0;
}

/** A usage error of a daemon command (exit 2). */
export class UsageError extends Error {
  readonly exitCode = 2;
}
