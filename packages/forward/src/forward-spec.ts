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
  /** Only on the same local port: a busy one is skipped, never remapped (attribute require_local_port, -L, -D). */
  requireLocalPort?: boolean;
  /** Listen on this Unix socket instead of a port (`-L /local.sock:...`); wantedLocalPort is 0, bind empty. */
  localPath?: string;
  /** Dial this Unix socket on the remote instead of host:port (`-L 2375:/var/run/docker.sock`). */
  remotePath?: string;
  /** A SOCKS server (`-D`): each connection names its own target. */
  dynamic?: boolean;
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

/** Options that change how a forward's bind address is read (ssh_config GatewayPorts). */
export interface ForwardParseOptions {
  /** GatewayPorts yes: a forward written without a bind address listens on every interface, as OpenSSH does. */
  gatewayPorts?: boolean;
}

/**
 * Parses an `-L` value in any of OpenSSH's forms (IPv6 in brackets: `[::1]:8080:[::1]:80`): `[bind:]port:host:hostport`,
 * `[bind:]port:/remote.sock`, `/local.sock:host:hostport`, `/local.sock:/remote.sock`. Throws UsageError with the
 * value and the expected form.
 */
export function parseLocalForward(text: string, options: ForwardParseOptions = {}): ForwardSpec {
  const bad = (why = '') =>
    new UsageError(
      `-L ${text}: ${why}expected [bind:]port:host:hostport, [bind:]port:/remote.sock or /local.sock:host:hostport (e.g. -L 8080:localhost:80)`,
    );
  const f = splitForwardFields(text);
  if (!f) throw bad();
  let listen: string[];
  let target: string[];
  if (f.length === 4) [listen, target] = [f.slice(0, 2), f.slice(2)];
  else if (f.length === 3) {
    // /local.sock:host:port, bind:port:/remote.sock or port:host:port
    if (isPath(f[0])) [listen, target] = [f.slice(0, 1), f.slice(1)];
    else if (isPath(f[2])) [listen, target] = [f.slice(0, 2), f.slice(2)];
    else [listen, target] = [f.slice(0, 1), f.slice(1)];
  } else if (f.length === 2 && isPath(f[1])) [listen, target] = [f.slice(0, 1), f.slice(1)];
  else throw bad();
  const local = listenSide(listen, options, bad);
  const spec: ForwardSpec = {
    key: local.path ? `explicit/unix:${local.path}` : `explicit/${local.keyAddr}:${local.port}`,
    origin: 'explicit',
    protocol: 'tcp',
    remoteHost: '',
    remotePort: 0,
    wantedLocalPort: local.port,
    bind: local.bind,
    process: '',
    requireLocalPort: true,
  };
  if (local.path) spec.localPath = local.path;
  if (target.length === 1) {
    const path = target[0] ?? '';
    if (!isPath(path)) throw bad();
    spec.remotePath = path;
    spec.remoteHost = path;
  } else {
    const [host = '', portText] = target;
    const port = portNumber(portText);
    if (!host || Number.isNaN(port) || port === 0) throw bad();
    spec.remoteHost = host;
    spec.remotePort = port;
  }
  return spec;
}

/** Parses a `-D [bind:]port` value (a local SOCKS4/4a/5 server whose connections leave from the remote). */
export function parseDynamicForward(text: string, options: ForwardParseOptions = {}): ForwardSpec {
  const bad = (why = '') =>
    new UsageError(`-D ${text}: ${why}expected [bind:]port (e.g. -D 1080 or -D 127.0.0.1:1080)`);
  const f = splitForwardFields(text);
  if (!f || f.length > 2 || f.some(isPath)) throw bad();
  const local = listenSide(f, options, bad);
  return {
    key: `dynamic/${local.keyAddr}:${local.port}`,
    origin: 'explicit',
    protocol: 'tcp',
    remoteHost: 'socks',
    remotePort: 0,
    wantedLocalPort: local.port,
    bind: local.bind,
    process: 'socks',
    requireLocalPort: true,
    dynamic: true,
  };
}

/** The listening side of a local or dynamic forward. */
interface ListenSide {
  port: number;
  bind: string[];
  /** The bind address as the key names it (`127.0.0.1` for the loopback default). */
  keyAddr: string;
  path?: string;
}

/**
 * OpenSSH's client-side bind rules: none given -> loopback (every interface under GatewayPorts); `*` or empty ->
 * every interface; `localhost` -> loopback; else that address. Loopback is 127.0.0.1 plus ::1 (best effort).
 */
function listenSide(fields: string[], options: ForwardParseOptions, bad: (why?: string) => UsageError): ListenSide {
  if (fields.length === 1 && isPath(fields[0])) {
    const path = fields[0] ?? '';
    if (!path.startsWith('/')) throw bad(`the local socket "${path}" must be an absolute path; `);
    return { port: 0, bind: [], keyAddr: '', path };
  }
  const [addr, portText] = fields.length === 2 ? fields : [undefined, fields[0]];
  const port = portNumber(portText);
  if (Number.isNaN(port)) throw bad();
  const loopback = { port, bind: ['127.0.0.1', '::1'], keyAddr: '127.0.0.1' };
  const wildcard = { port, bind: ['0.0.0.0', '::'], keyAddr: '*' };
  if (addr === undefined) return options.gatewayPorts ? wildcard : loopback;
  if (addr === '' || addr === '*') return wildcard;
  if (addr === 'localhost') return loopback;
  if (ipFamily(addr) === 0) throw bad(`bind address "${addr}" is not an IP address (use 127.0.0.1, ::1 or *); `);
  return { port, bind: [addr === '0.0.0.0' || addr === '::' ? addr : canonicalIp(addr)], keyAddr: canonicalIp(addr) };
}

/** A field naming a Unix socket: OpenSSH's rule is "contains a slash". */
export function isPath(field: string | undefined): boolean {
  return field?.includes('/') === true;
}

/** A port field: 0-65535, else NaN. */
export function portNumber(text: string | undefined): number {
  return text && /^\d{1,5}$/.test(text) && Number(text) <= 65535 ? Number(text) : Number.NaN;
}

/**
 * Splits a forward's text on ':' with bracketed IPv6 literals kept whole (`[::1]:80` -> `::1`, `80`); undefined
 * when the brackets do not close or stray text follows one.
 */
export function splitForwardFields(text: string): string[] | undefined {
  const fields: string[] = [];
  let rest = text.trim();
  if (rest === '') return undefined;
  for (;;) {
    if (rest.startsWith('[')) {
      const end = rest.indexOf(']');
      if (end < 0) return undefined;
      fields.push(rest.slice(1, end));
      rest = rest.slice(end + 1);
      if (rest !== '' && !rest.startsWith(':')) return undefined;
    } else {
      const end = rest.indexOf(':');
      fields.push(end < 0 ? rest : rest.slice(0, end));
      rest = end < 0 ? '' : rest.slice(end);
    }
    if (rest === '') return fields;
    rest = rest.slice(1);
  }
}
