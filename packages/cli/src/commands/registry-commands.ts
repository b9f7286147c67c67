import type { Lease, LookupAnswer } from '@port-linker/client';
import type { CommandIo } from './command-io.ts';
import { clientFor, ensureDaemon } from './daemon-client.ts';

/** A usage error: exit 2. */
function usage(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 2 });
}

/** `--ttl` and `--port` values. */
export function wholeNumber(what: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw usage(`${what} must be a whole number from ${min} to ${max}`);
  return n;
}

/** `port-linker alloc <service> [--ttl S] [--port N]`: the port alone on stdout (for `PORT=$(port-linker alloc x)`). */
export async function allocCommand(
  service: string,
  opts: { ttl?: number; port?: number },
  io: CommandIo,
): Promise<number> {
  const { client } = await ensureDaemon(io.env, (line) => io.stderr(`${line}\n`));
  const { lease } = await client.call<{ lease: Lease }>('POST', '/v1/alloc', {
    service_name: service,
    ...(opts.ttl === undefined ? {} : { ttl_seconds: opts.ttl }),
    ...(opts.port === undefined ? {} : { port: opts.port }),
  });
  io.stdout(`${lease.port}\n`);
  io.stderr(
    `leased port ${lease.port} to ${service} until ${lease.expires_at} (renew: port-linker alloc or POST /v1/heartbeat)\n`,
  );
  return 0;
}

/** `port-linker release <port|service>`. */
export async function releaseCommand(what: string, io: CommandIo): Promise<number> {
  const { client } = clientFor(io.env);
  const body = /^\d+$/.test(what) ? { port: Number(what) } : { service_name: what };
  const { leases } = await client.call<{ leases: Lease[] }>('POST', '/v1/release', body);
  for (const l of leases) io.stderr(`released port ${l.port} (${l.service_name})\n`);
  return 0;
}

/** `port-linker leases [--json]`. */
export async function leasesCommand(opts: { json?: boolean }, io: CommandIo): Promise<number> {
  const { client } = clientFor(io.env);
  const { leases } = await client.call<{ leases: Lease[] }>('GET', '/v1/list');
  if (opts.json) {
    io.stdout(`${JSON.stringify({ leases })}\n`);
    return 0;
  }
  if (leases.length === 0) {
    io.stdout('no leases (port-linker alloc <service> or port-linker run <service> -- <command>)\n');
    return 0;
  }
  const now = Date.now();
  const head = ['port', 'service', 'expires in', 'pid'];
  const rows = leases.map((l) => [
    String(l.port),
    l.service_name,
    `${Math.max(0, Math.round((Date.parse(l.expires_at) - now) / 1000))}s`,
    l.pid === undefined ? '' : String(l.pid),
  ]);
  const widths = head.map((t, i) => Math.max(t.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const r of [head, ...rows])
    io.stdout(
      `${r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd()}\n`,
    );
  return 0;
}

/** `port-linker lookup <service> [--url] [--json]`: exit 1 when nothing is that service. */
export async function lookupCommand(service: string, opts: { url?: boolean; json?: boolean }, io: CommandIo) {
  const { client } = clientFor(io.env);
  let found: LookupAnswer;
  try {
    found = await client.call<LookupAnswer>('GET', `/v1/lookup?service=${encodeURIComponent(service)}`);
  } catch (err) {
    if ((err as { code?: string }).code === 'no_service') {
      io.stderr(`port-linker: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
  if (opts.json) io.stdout(`${JSON.stringify(found)}\n`);
  else io.stdout(`${opts.url ? found.url : found.port}\n`);
  return 0;
}
