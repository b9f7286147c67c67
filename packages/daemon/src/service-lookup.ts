import type { ForwardInfo } from '@port-linker/forward';
import { ApiError } from './api-error.ts';
import type { Lease } from './lease-registry.ts';

/** What `lookup` found: PortManager's body (`service_name`, `port`, `all_ports`) plus where it came from. */
export interface LookupAnswer {
  service_name: string;
  port: number;
  all_ports: number[];
  /** Which rule matched: a lease, a forward's label, a remote process name, or `host:remote_port`. */
  kind: 'lease' | 'label' | 'process' | 'host_port';
  /** The local address to connect to (per-host loopback addresses differ from 127.0.0.1). */
  address: string;
  url: string;
  lease?: Lease;
  host?: string;
  remote_port?: number;
  protocol?: string;
}

interface Candidate {
  host: string;
  forward: ForwardInfo;
}

function urlOf(address: string, port: number): string {
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

function fromForwards(service: string, kind: LookupAnswer['kind'], found: Candidate[]): LookupAnswer | undefined {
  // one service on tcp and udp of the same host and port is one answer; tcp first
  const unique = new Map<string, Candidate>();
  for (const c of [...found].sort((a, b) => a.forward.spec.protocol.localeCompare(b.forward.spec.protocol))) {
    const k = `${c.host}\0${c.forward.localPort}`;
    if (!unique.has(k)) unique.set(k, c);
  }
  const all = [...unique.values()];
  if (all.length === 0) return undefined;
  if (new Set(all.map((c) => c.host)).size > 1 || new Set(all.map((c) => c.forward.spec.remotePort)).size > 1) {
    const list = all.map((c) => `${c.host}:${c.forward.spec.remotePort}`).join(', ');
    throw new ApiError(409, 'ambiguous', `${service} matches ${all.length} forwards (${list}): ask for one of those`);
  }
  const first = all[0] as Candidate;
  const address = first.forward.addresses[0] ?? '127.0.0.1';
  return {
    service_name: service,
    port: first.forward.localPort,
    all_ports: all.map((c) => c.forward.localPort),
    kind,
    address,
    url: urlOf(address, first.forward.localPort),
    host: first.host,
    remote_port: first.forward.spec.remotePort,
    protocol: first.forward.spec.protocol,
  };
}

/**
 * Resolves a service name to a local port, in this order: a lease (`alloc`, `run`), a forward's label (profile
 * attributes), a remote process name seen by the scanner (`postgres`), `host:remote_port`. The first rule that
 * matches answers; more than one forward for it is an error that lists them (409), none is a 404.
 */
export function lookupService(
  service: string,
  leases: Lease[],
  hosts: Array<{ host: string; forwards: ForwardInfo[] }>,
): LookupAnswer {
  const mine = leases.filter((l) => l.service_name === service);
  if (mine.length > 0) {
    const lease = mine[0] as Lease;
    return {
      service_name: service,
      port: lease.port,
      all_ports: mine.map((l) => l.port),
      kind: 'lease',
      address: '127.0.0.1',
      url: urlOf('127.0.0.1', lease.port),
      lease,
    };
  }
  const all = hosts.flatMap((h) => h.forwards.map((forward) => ({ host: h.host, forward })));
  const byLabel = fromForwards(
    service,
    'label',
    all.filter((c) => c.forward.spec.label === service),
  );
  if (byLabel) return byLabel;
  const byProcess = fromForwards(
    service,
    'process',
    all.filter((c) => c.forward.spec.process === service),
  );
  if (byProcess) return byProcess;
  const m = /^(.+):(\d+)$/.exec(service);
  if (m) {
    const byPort = fromForwards(
      service,
      'host_port',
      all.filter((c) => c.host === m[1] && c.forward.spec.remotePort === Number(m[2])),
    );
    if (byPort) return byPort;
  }
  throw new ApiError(
    404,
    'no_service',
    `no lease, label, remote process or host:port is ${service} (see port-linker leases and port-linker ls)`,
  );
}
