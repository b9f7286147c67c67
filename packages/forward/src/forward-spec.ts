import { canonicalIp, ipFamily, type SocketProtocol } from '@port-linker/proto';
import { UsageError } from './errors.ts';

/** A forward the manager should have: where to listen locally and what to reach on the remote. */
export interface ForwardSpec {
  /** Stable identity (`auto/tcp/8080`, `explicit/127.0.0.1:9000`); also keys the remembered local port. */
  key: string;
  origin: 'auto' | 'explicit';
  protocol: SocketProtocol;
  /** Address the remote side dials (`127.0.0.1`, `::1`, or a host name for explicit forwards). */
  remoteHost: string;
  remotePort: number;
  /** Local port asked for (the same as the remote one for mirrored ports). */
  wantedLocalPort: number;
  /** Local addresses to bind, first one required (`127.0.0.1`), others best-effort (`::1`). */
  bind: string[];
  /** Remote process label, when known. */
  process: string;
  /** The port's label from the profile's attributes. */
  label?: string;
  /** Only on the same local port: a busy one is skipped, never remapped (attribute require_local_port). */
  requireLocalPort?: boolean;
}

/** The part of a scanner port group a forward needs. */
export interface RemotePortGroup {
  protocol: SocketProtocol;
  port: number;
  addresses: string[];
  v6: boolean;
  forwardable: boolean;
  process: string;
}

/**
 * Which remote address to dial for a group: a loopback-reachable one. Wildcards map to loopback
 * (0.0.0.0 -> 127.0.0.1, :: -> ::1); a 127.x listener is dialled at its own address.
 */
export function dialAddress(addresses: readonly string[]): string | undefined {
  const ips = addresses.map(canonicalIp);
  if (ips.includes('0.0.0.0') || ips.includes('127.0.0.1')) return '127.0.0.1';
  const loop4 = ips.find((a) => a.startsWith('127.') && ipFamily(a) === 4);
  if (loop4) return loop4;
  if (ips.includes('::') || ips.includes('::1')) return '::1';
  return undefined;
}

/** The auto-mirror spec of a remote port group, or undefined when it cannot be forwarded. */
export function autoSpec(g: RemotePortGroup): ForwardSpec | undefined {
  if (!g.forwardable) return undefined;
  const remoteHost = dialAddress(g.addresses);
  if (!remoteHost) return undefined;
  return {
    key: `auto/${g.protocol}/${g.port}`,
    origin: 'auto',
    protocol: g.protocol,
    remoteHost,
    remotePort: g.port,
    wantedLocalPort: g.port,
    bind: g.v6 ? ['127.0.0.1', '::1'] : ['127.0.0.1'],
    process: g.process,
  };
}

/**
 * Parses an `-L [bind:]lport:rhost:rport` value (IPv6 in brackets: `[::1]:8080:[::1]:80`) into a spec.
 * Throws UsageError with the value and the expected form.
 */
export function parseLocalForward(text: string): ForwardSpec {
  const parts: string[] = [];
  const re = /\[([^\]]*)\]|([^:]+)/g;
  let rest = text.trim();
  // Split on ':' but keep bracketed IPv6 literals whole.
  while (rest.length > 0) {
    re.lastIndex = 0;
    const m = re.exec(rest);
    if (m?.index !== 0) break;
    parts.push(m[1] ?? m[2] ?? '');
    rest = rest.slice(m[0].length);
    if (rest.startsWith(':')) rest = rest.slice(1);
    else if (rest.length > 0) break;
  }
  const bad = () =>
    new UsageError(`-L ${text}: expected [bind:]localport:remotehost:remoteport (e.g. -L 8080:localhost:80)`);
  if (rest.length > 0 || (parts.length !== 3 && parts.length !== 4)) throw bad();
  const [bind, lport, rhost, rport] = parts.length === 4 ? parts : ['127.0.0.1', ...parts];
  const port = (s: string | undefined) => (s && /^\d{1,5}$/.test(s) && Number(s) <= 65535 ? Number(s) : Number.NaN);
  const local = port(lport);
  const remote = port(rport);
  if (Number.isNaN(local) || Number.isNaN(remote) || remote === 0 || !rhost) throw bad();
  const bindAddr = bind === 'localhost' || bind === '' ? '127.0.0.1' : (bind ?? '127.0.0.1');
  if (bindAddr !== '*' && ipFamily(bindAddr) === 0) {
    throw new UsageError(`-L ${text}: bind address "${bind}" is not an IP address (use 127.0.0.1 or ::1)`);
  }
  return {
    key: `explicit/${bindAddr}:${local}`,
    origin: 'explicit',
    protocol: 'tcp',
    remoteHost: rhost,
    remotePort: remote,
    wantedLocalPort: local,
    bind: [bindAddr === '*' ? '0.0.0.0' : bindAddr],
    process: '',
  };
}
