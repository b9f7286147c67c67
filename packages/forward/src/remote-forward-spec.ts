import { canonicalIp, ipFamily } from '@port-linker/proto';
import { UsageError } from './errors.ts';
import { isPath, portNumber, splitForwardFields } from './forward-spec.ts';

/** Where a remote forward's connections go on this machine. */
export type RemoteForwardTarget =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string }
  /** Dynamic reverse (`-R [bind:]port` alone): each connection is a SOCKS request answered from here. */
  | { kind: 'socks' };

/** A `-R` forward: the server listens (on a port or a Unix socket) and sends each connection back here. */
export interface RemoteForwardSpec {
  /** Stable identity: `remote/localhost:9000`, `remote/unix:/tmp/app.sock`. */
  key: string;
  /** The `-R` text as written (events and errors name it). */
  text: string;
  /**
   * The address sent in the tcpip-forward request, by OpenSSH's rules: `localhost` when none was written, '' for
   * `*` or an empty one (the server's GatewayPorts then decides what it binds), else as written.
   */
  bindAddress: string;
  /** The port asked for; 0 lets the server pick one (reported in the remote_forward_added event). */
  port: number;
  /** A Unix socket on the remote instead of a port. */
  path?: string;
  target: RemoteForwardTarget;
}

/**
 * Parses an `-R` value in OpenSSH's forms: `[bind:]port:host:hostport`, `[bind:]port:/local.sock`,
 * `/remote.sock:host:hostport`, `/remote.sock:/local.sock`, and `[bind:]port` alone (dynamic: a SOCKS proxy on the
 * remote whose connections leave from here). Throws UsageError with the value and the expected form.
 */
export function parseRemoteForward(text: string): RemoteForwardSpec {
  const bad = (why = '') =>
    new UsageError(
      `-R ${text}: ${why}expected [bind:]port:host:hostport, [bind:]port:/local.sock, /remote.sock:host:hostport or [bind:]port (e.g. -R 9000:localhost:3000)`,
    );
  const f = splitForwardFields(text);
  if (!f || f.length > 4) throw bad();
  let listen: string[];
  let target: string[];
  if (f.length === 4) [listen, target] = [f.slice(0, 2), f.slice(2)];
  else if (f.length === 3) {
    if (isPath(f[0])) [listen, target] = [f.slice(0, 1), f.slice(1)];
    else if (isPath(f[2])) [listen, target] = [f.slice(0, 2), f.slice(2)];
    else [listen, target] = [f.slice(0, 1), f.slice(1)];
  } else if (f.length === 2) {
    if (isPath(f[1])) [listen, target] = [f.slice(0, 1), f.slice(1)];
    else [listen, target] = [f, []];
  } else [listen, target] = [f, []];

  let spec: Omit<RemoteForwardSpec, 'target'>;
  if (listen.length === 1 && isPath(listen[0])) {
    const path = listen[0] ?? '';
    if (target.length === 0) throw bad('a dynamic forward needs a port, not a socket; ');
    spec = { key: `remote/unix:${path}`, text, bindAddress: '', port: 0, path };
  } else {
    const [addr, portText] = listen.length === 2 ? listen : [undefined, listen[0]];
    const port = portNumber(portText);
    if (Number.isNaN(port)) throw bad();
    const bindAddress = rfwdBindHost(addr);
    if (bindAddress !== '' && bindAddress !== 'localhost' && ipFamily(bindAddress) === 0)
      throw bad(`bind address "${addr}" is not an IP address (use localhost, an IP or *); `);
    const keyAddr = bindAddress === '' ? '*' : ipFamily(bindAddress) ? canonicalIp(bindAddress) : bindAddress;
    spec = { key: `remote/${keyAddr}:${port}`, text, bindAddress, port };
  }
  if (target.length === 0) return { ...spec, target: { kind: 'socks' } };
  if (target.length === 1) {
    const path = target[0] ?? '';
    if (!path.startsWith('/')) throw bad(`the local socket "${path}" must be an absolute path; `);
    return { ...spec, target: { kind: 'unix', path } };
  }
  const [host = '', portText] = target;
  const port = portNumber(portText);
  if (!host || Number.isNaN(port) || port === 0) throw bad();
  return { ...spec, target: { kind: 'tcp', host, port } };
}

/** OpenSSH's channel_rfwd_bind_host: none -> `localhost`; `*` or empty -> '' (every address); else as written. */
function rfwdBindHost(addr: string | undefined): string {
  if (addr === undefined) return 'localhost';
  if (addr === '' || addr === '*') return '';
  return addr;
}

/** How a remote forward's target reads in events and tables (`127.0.0.1:3000`, `/run/app.sock`, `socks`). */
export function describeRemoteTarget(t: RemoteForwardTarget): string {
  if (t.kind === 'socks') return 'socks';
  if (t.kind === 'unix') return t.path;
  return `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
}
