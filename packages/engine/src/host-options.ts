import type { PortAttributes } from '@port-linker/forward';

/** How one host is mirrored: the per-host part of the command line (and, later, of a profile). */
export interface HostOptions {
  /** Mirror every remote port (false: explicit forwards only, like ssh -N -L). */
  auto: boolean;
  protocol: 'tcp' | 'udp' | 'both';
  transport: 'auto' | 'stdio' | 'tcp' | 'quic';
  agent: 'auto' | 'node' | 'binary' | 'none';
  /**
   * How forwarded TCP connections travel (`--data-path`; default auto): SSH channels until the direct path (TLS to
   * the agent) is up and measured no slower; `direct` whenever it connects; `ssh` always SSH (no agent in --no-auto);
   * `openssh` OpenSSH's own client (a ControlMaster) for plain TCP forwards, SSH channels for the rest.
   */
  dataPath?: 'auto' | 'direct' | 'ssh' | 'openssh';
  conflict: 'remap' | 'skip' | 'kill';
  /**
   * Where mirrored ports listen locally: undefined = 127.0.0.1 (and ::1 for IPv6 listeners); a loopback address;
   * or `auto` (the engine gives each host its own 127.0.0.N).
   */
  bindAddress?: string;
  /** Explicit `-L` forwards. */
  localForwards: string[];
  /** `-R` forwards (`[bind:]rport:host:hostport`, `[bind:]rport` for dynamic reverse, Unix socket forms). */
  remoteForwards?: string[];
  /** `-D` forwards (`[bind:]port`: a local SOCKS server). */
  dynamicForwards?: string[];
  /** Names of explicit forwards (a profile's `forwards: [{name}]`), by their `-L` text: the forward's label. */
  forwardNames?: Readonly<Record<string, string>>;
  ports?: string;
  exclude?: string;
  defaultExcludes: boolean;
  /** Per remote port: label, on_forward (ignore = not mirrored), require_local_port (from a profile). */
  attributes?: PortAttributes;
  /** A 0600 file whose first line answers the server's password questions (read once, when the host is added). */
  passwordFile?: string;
  /** The host's log level; debug and trace are shipped by the agent too. */
  logLevel: 'error' | 'warn' | 'info' | 'debug' | 'trace';
}
