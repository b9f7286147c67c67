import { canonicalIp, isForwardableAddress, type ListeningSocket, type SocketProtocol } from '@port-linker/proto';
import { compareSockets } from './socket-rows.ts';

/** Every listener of one (protocol, port), whatever the address: what the forward manager works from. */
export interface PortGroup {
  protocol: SocketProtocol;
  port: number;
  /** Canonical addresses it is bound to, IPv4 first. */
  addresses: string[];
  /** Some address is IPv4 (0.0.0.0, 127.x, a specific IPv4). */
  v4: boolean;
  /** Some address is IPv6 (::, ::1, a specific IPv6). */
  v6: boolean;
  /** Every address is loopback (127.0.0.0/8 or ::1): the local side should bind loopback only. */
  loopbackOnly: boolean;
  /** Some address is a wildcard or loopback, so the port is reachable from the remote's loopback. */
  forwardable: boolean;
  /** Process label of the first entry that has one; '' when none does. */
  process: string;
}

/** Whether a canonical address is loopback: 127.0.0.0/8 or ::1. */
export function isLoopbackAddress(address: string): boolean {
  const ip = canonicalIp(address);
  return ip === '::1' || (ip.startsWith('127.') && !ip.includes(':'));
}

/**
 * Groups scan entries by (protocol, port): the dedupe step (0.0.0.0:80 and [::]:80 are one port, remembering
 * both families). Ports bound only to specific non-loopback addresses stay in, with `forwardable: false`, so the
 * UI can say why they are not forwarded. Sorted by protocol then port.
 */
export function groupPorts(sockets: readonly ListeningSocket[]): PortGroup[] {
  const groups = new Map<string, PortGroup>();
  for (const s of [...sockets].sort(compareSockets)) {
    const key = `${s.protocol}/${s.port}`;
    let g = groups.get(key);
    if (!g) {
      g = {
        protocol: s.protocol,
        port: s.port,
        addresses: [],
        v4: false,
        v6: false,
        loopbackOnly: true,
        forwardable: false,
        process: '',
      };
      groups.set(key, g);
    }
    if (!g.addresses.includes(s.address)) g.addresses.push(s.address);
    if (s.address.includes(':')) g.v6 = true;
    else g.v4 = true;
    if (!isLoopbackAddress(s.address)) g.loopbackOnly = false;
    if (isForwardableAddress(s.address)) g.forwardable = true;
    if (g.process === '' && s.process !== '') g.process = s.process;
  }
  return [...groups.values()];
}
