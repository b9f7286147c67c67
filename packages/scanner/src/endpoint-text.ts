import { canonicalIp, ipFamily } from '@port-linker/proto';

/** Address family a tool's row declares: 4, 6, 46 (BSD dual-stack `tcp46`), or 0 when the row does not say. */
export type RowFamily = 0 | 4 | 6 | 46;

/** A parsed `host<sep>port` endpoint: canonical address text and port (1-65535). */
export interface Endpoint {
  address: string;
  port: number;
}

/**
 * Parses one local-address column of ss, netstat or sockstat: `0.0.0.0:22`, `[::]:22`, `*:22`, `:::22`,
 * `127.0.0.53%lo:53`, `[fe80::1]%eth0:546` (sep `:`), or BSD `*.22`, `::1.631`, `fe80::1%lo0.5353` (sep `.`).
 * The port is after the last separator; a `%zone` is dropped; `*` is the wildcard of `family` (IPv6 `::`
 * unless the row is IPv4). IPv4-mapped IPv6 becomes plain IPv4. Undefined when it is not an endpoint with a
 * numeric port (a peer column's `*`, garbage).
 */
export function parseEndpoint(text: string, sep: ':' | '.', family: RowFamily): Endpoint | undefined {
  const cut = text.lastIndexOf(sep);
  if (cut <= 0) return undefined;
  const portText = text.slice(cut + 1);
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  let host = text.slice(0, cut);
  const zone = host.indexOf('%');
  if (zone >= 0) {
    const close = host.indexOf(']', zone);
    host = host.slice(0, zone) + (close >= 0 ? host.slice(close) : '');
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  let address: string;
  if (host === '*') address = family === 4 ? '0.0.0.0' : '::';
  else {
    const hostFamily = ipFamily(host);
    if (hostFamily === 0) return undefined;
    if (family === 4 && hostFamily !== 4) return undefined;
    address = canonicalIp(host);
  }
  return { address, port };
}
