import type { Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { Server } from 'node:net';
import type { MessageOf } from '@port-linker/proto';
import type { ForwardSpec } from './forward-spec.ts';
import { bindErrorCode, boundPort, listenTcp, listenUnix, type UnixBindOptions } from './local-bind.ts';
import { type ForwardPlane, listenerOf, PlaneForward, planeEligible } from './plane-forward.ts';
import { type Dialer, type ForwardStats, TcpForward, type UnixDialer } from './tcp-forward.ts';
import { bindUdp, UdpForward, type UdpSend } from './udp-forward.ts';

/** Listeners bound for one forward, before it is wrapped. */
type Bound = { kind: 'tcp'; port: number; servers: Server[] } | { kind: 'udp'; port: number; sockets: UdpSocket[] };

function closeBound(b: Bound): void {
  if (b.kind === 'tcp') for (const s of b.servers) s.close();
  else for (const s of b.sockets) s.close();
}

/** What to do when the wanted local port is taken. */
export type ConflictPolicy = 'remap' | 'skip' | 'kill';

/** `forward_added` event fields (docs/PRODUCT.md, section 3). */
export interface ForwardAddedEvent {
  protocol: 'tcp' | 'udp';
  remote_addr: string;
  remote_port: number;
  local_port: number;
  local_addrs: string[];
  process?: string;
  origin: 'auto' | 'explicit';
  /** The port's label from the profile's attributes. */
  label?: string;
  /** `local` (-L and mirrored ports) or `dynamic` (-D, a SOCKS server). */
  type: 'local' | 'dynamic';
  /** The local Unix socket listened on (then local_port is 0). */
  local_path?: string;
  /** The remote Unix socket dialled (then remote_port is 0). */
  remote_path?: string;
}

/** `forward_removed` event fields. */
export interface ForwardRemovedEvent {
  protocol: 'tcp' | 'udp';
  remote_port: number;
  local_port: number;
  reason: 'remote_closed' | 'filtered' | 'shutdown';
}

/** `conflict` event fields. */
export interface ConflictEvent {
  protocol: 'tcp' | 'udp';
  remote_port: number;
  wanted_local_port: number;
  action: 'remap' | 'skip' | 'kill';
  local_port?: number;
  reason: string;
}

/** Events of a ForwardManager. */
export interface ForwardManagerEvents {
  forward_added: [ForwardAddedEvent];
  forward_removed: [ForwardRemovedEvent];
  conflict: [ConflictEvent];
}

/** Frees a local port held by another process; resolves true if it was freed. */
export type PortKiller = (port: number) => Promise<boolean>;

/** Options of a ForwardManager. */
export interface ForwardManagerOptions {
  conflict: ConflictPolicy;
  /** Used by the `kill` policy (finds, confirms and kills the local owner). */
  killOwner?: PortKiller;
  log?: (level: 'error' | 'warn' | 'info' | 'debug', msg: string) => void;
  /** How long an accepted connection waits for a reconnect before it is dropped (default 10 s). */
  dialWaitMs?: number;
  /** Local ports chosen before (by spec key), e.g. persisted across restarts; asked first, told every choice. */
  memory?: { get(key: string): number | undefined; set(key: string, port: number): void };
  /** How local Unix socket listeners are created (StreamLocalBindMask, StreamLocalBindUnlink). */
  unixBind?: UnixBindOptions;
}

/** One active forward, for tables and status. */
export interface ForwardInfo {
  spec: ForwardSpec;
  localPort: number;
  addresses: string[];
  stats: ForwardStats;
  /** The plane holding its listener (`openssh`); absent when this process listens. */
  plane?: string;
}

type Active = TcpForward | UdpForward | PlaneForward;

/**
 * Keeps local listeners equal to the desired set of forwards. `sync(desired)` adds what is new
 * and stops what is gone; local ports chosen once (including remaps) are kept for the session,
 * so a reconnect or a flapping remote service gets the same local port back.
 */
export class ForwardManager extends EventEmitter<ForwardManagerEvents> {
  readonly #options: ForwardManagerOptions;
  readonly #active = new Map<string, Active>();
  readonly #assigned = new Map<string, number>();
  readonly #skipped = new Set<string>();
  #dialer: Dialer | undefined;
  #unixDialer: UnixDialer | undefined;
  #udpSend: UdpSend | undefined;
  #plane: ForwardPlane | undefined;
  #waiters: Array<(d: Dialer | undefined) => void> = [];
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  /** Creates an empty manager. */
  constructor(options: ForwardManagerOptions) {
    super();
    this.#options = options;
  }

  /**
   * Sets the dialer (connected) or clears it (reconnecting: new connections wait for it); `unix` opens the remote
   * Unix sockets of `-L ...:/remote.sock` forwards.
   */
  setDialer(dialer: Dialer | undefined, unix?: UnixDialer): void {
    this.#dialer = dialer;
    this.#unixDialer = dialer ? unix : undefined;
    if (dialer) {
      for (const w of this.#waiters.splice(0)) w(dialer);
    }
  }

  /**
   * Hands every plain TCP forward's listener to `plane` (and later ones as they come), or, with undefined (the plane
   * went away), takes them back: this process listens on the same ports again and carries connections itself.
   */
  setPlane(plane: ForwardPlane | undefined): Promise<void> {
    this.#plane = plane;
    const run = this.#queue.then(() => (plane ? this.#handAll(plane) : this.#takeBackAll()));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Sets how UDP datagrams reach the agent (undefined while there is no agent: datagrams are dropped). */
  setUdpSender(send: UdpSend | undefined): void {
    this.#udpSend = send;
  }

  /** Routes a UdpPacket from the agent (src_port = remote port) to the local client that owns its id. */
  deliverUdp(packet: MessageOf<'UdpPacket'>): void {
    const f = this.#active.get(`auto/udp/${packet.srcPort}`);
    if (f instanceof UdpForward) f.deliver(packet);
    else for (const g of this.#active.values()) if (g instanceof UdpForward && g.owns(packet.id)) g.deliver(packet);
  }

  /** Active forwards with their counters (UDP: open = client mappings, total = datagrams in, failed = drops). */
  list(): ForwardInfo[] {
    return [...this.#active.values()].map((f) => {
      let stats: ForwardStats;
      if (f instanceof UdpForward) {
        const u = f.stats;
        stats = { open: u.clients, total: u.datagramsIn, failed: u.dropped, bytesIn: u.bytesIn, bytesOut: u.bytesOut };
      } else stats = f.stats;
      const plane = f instanceof PlaneForward ? { plane: f.plane.name } : {};
      return { spec: f.spec, localPort: f.localPort, addresses: f.addresses, stats, ...plane };
    });
  }

  /** Whether a forward could not be set up (its local port or socket could not be bound) and is left out. */
  isSkipped(key: string): boolean {
    return this.#skipped.has(key);
  }

  /** Local port of an active forward by spec key. */
  localPortOf(key: string): number | undefined {
    return this.#active.get(key)?.localPort;
  }

  /** Makes the active set equal `desired` (serialized: concurrent calls apply in order). */
  sync(desired: readonly ForwardSpec[]): Promise<void> {
    const run = this.#queue.then(() => this.#apply(desired));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Stops every listener and connection. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    for (const f of this.#active.values()) this.#remove(f, 'shutdown');
    for (const w of this.#waiters.splice(0)) w(undefined);
  }

  /**
   * Takes a forward out of the active set and says so. Shutdown cuts its open connections; a remote port that
   * went away only stops new ones (open connections finish on their own).
   */
  #remove(f: Active, reason: ForwardRemovedEvent['reason']): void {
    if (f instanceof UdpForward) f.close();
    else if (reason === 'shutdown') f.destroy();
    else f.stopAccepting();
    this.#active.delete(f.spec.key);
    this.emit('forward_removed', {
      protocol: f.spec.protocol,
      remote_port: f.spec.remotePort,
      local_port: f.localPort,
      reason,
    });
  }

  async #apply(desired: readonly ForwardSpec[]): Promise<void> {
    if (this.#closed) return;
    const want = new Map(desired.map((s) => [s.key, s]));
    for (const [key, f] of this.#active) {
      if (want.has(key) && sameTarget(want.get(key), f.spec)) continue;
      this.#remove(f, 'remote_closed');
    }
    for (const key of this.#skipped) if (!want.has(key)) this.#skipped.delete(key);
    for (const spec of want.values()) {
      if (this.#active.has(spec.key) || this.#skipped.has(spec.key)) continue;
      await this.#add(spec);
    }
  }

  async #add(spec: ForwardSpec): Promise<void> {
    const log = this.#options.log ?? (() => {});
    // a port that must keep its number never takes a remembered remap
    const wanted = spec.requireLocalPort
      ? spec.wantedLocalPort
      : (this.#assigned.get(spec.key) ?? this.#options.memory?.get(spec.key) ?? spec.wantedLocalPort);
    if (spec.localPath !== undefined) {
      await this.#addUnix(spec, spec.localPath);
      return;
    }
    const [primary, ...secondary] = spec.bind;
    if (!primary) return;
    let servers: Bound | undefined;
    let firstError = '';
    try {
      servers = await this.#bindAll(primary, secondary, wanted, spec);
    } catch (err) {
      firstError = bindErrorCode(err);
    }
    if (!servers) {
      const conflict = (action: ConflictEvent['action'], local_port?: number, reason = firstError) =>
        this.emit('conflict', {
          protocol: spec.protocol,
          remote_port: spec.remotePort,
          wanted_local_port: wanted,
          action,
          ...(local_port === undefined ? {} : { local_port }),
          reason,
        });
      const privileged = firstError === 'EACCES';
      let policy: ConflictPolicy = privileged ? 'remap' : this.#options.conflict;
      if (firstError !== 'EADDRINUSE' && !privileged) {
        log('warn', `cannot listen on ${primary}:${wanted} for remote port ${spec.remotePort}: ${firstError}`);
        policy = 'remap';
      }
      if (spec.requireLocalPort && policy !== 'kill') policy = 'skip';
      if (policy === 'kill') {
        const freed = await (this.#options.killOwner?.(wanted) ?? Promise.resolve(false));
        if (freed) {
          try {
            servers = await this.#bindAll(primary, secondary, wanted, spec);
            conflict('kill', wanted);
          } catch (err) {
            firstError = bindErrorCode(err);
          }
        }
        if (!servers) policy = 'skip';
      }
      if (policy === 'skip' && !servers) {
        this.#skipped.add(spec.key);
        const why = firstError === 'EADDRINUSE' ? 'is in use' : `cannot be bound (${firstError})`;
        conflict(
          'skip',
          undefined,
          `local port ${wanted} ${why}${spec.requireLocalPort ? ' (require_local_port)' : ''}`,
        );
        return;
      }
      if (policy === 'remap' && !servers) {
        try {
          servers = await this.#bindAll(primary, secondary, 0, spec);
        } catch (err) {
          log('error', `cannot listen on ${primary} for remote port ${spec.remotePort}: ${bindErrorCode(err)}`);
          this.#skipped.add(spec.key);
          return;
        }
        conflict('remap', servers.port, privileged ? 'privileged port' : `local port ${wanted} is in use`);
      }
    }
    if (!servers || this.#closed) {
      if (servers) closeBound(servers);
      return;
    }
    const localPort = servers.port;
    this.#assigned.set(spec.key, localPort);
    this.#options.memory?.set(spec.key, localPort);
    let forward: Active;
    if (servers.kind === 'udp') forward = new UdpForward(spec, localPort, servers.sockets, () => this.#udpSend);
    else {
      const plane = this.#plane;
      forward =
        (plane && planeEligible(spec) && (await this.#handOff(plane, spec, localPort, servers.servers))) ||
        this.#tcpForward(spec, localPort, servers.servers);
    }
    this.#activate(forward);
  }

  /**
   * Moves a forward's listeners from this process to the plane: ours close, the plane binds the same port. Undefined
   * when the plane cannot take the primary address (then ours are listening again, in `servers`).
   */
  async #handOff(
    plane: ForwardPlane,
    spec: ForwardSpec,
    port: number,
    servers: Server[],
  ): Promise<PlaneForward | undefined> {
    const log = this.#options.log ?? (() => {});
    const addresses = servers.map(addressOf);
    for (const s of servers) s.close();
    const taken: string[] = [];
    for (const [i, address] of addresses.entries()) {
      try {
        await plane.open(listenerOf(spec, address, port));
        taken.push(address);
      } catch (err) {
        log('debug', `${plane.name}: cannot take ${address}:${port} (${(err as Error).message})`);
        if (i === 0) break;
      }
    }
    if (taken[0] === addresses[0]) return new PlaneForward(spec, port, plane, taken);
    // the plane said no: listen here again, on the same port
    servers.length = 0;
    for (const address of addresses) {
      try {
        servers.push(await listenTcp(address, port, () => {}));
      } catch (err) {
        log(
          'warn',
          `cannot listen on ${address}:${port} again for remote port ${spec.remotePort}: ${bindErrorCode(err)}`,
        );
      }
    }
    return undefined;
  }

  /** Hands over the forwards this process listens for (their open connections finish here). */
  async #handAll(plane: ForwardPlane): Promise<void> {
    for (const f of [...this.#active.values()]) {
      if (this.#closed || this.#plane !== plane) return;
      if (!(f instanceof TcpForward) || !planeEligible(f.spec) || f.localPort === 0) continue;
      const servers = f.takeServers();
      const moved = await this.#handOff(plane, f.spec, f.localPort, servers);
      if (moved) this.#active.set(f.spec.key, moved);
      else if (servers.length > 0) this.#active.set(f.spec.key, this.#tcpForward(f.spec, f.localPort, servers));
      else this.#remove(f, 'shutdown');
    }
  }

  /** The plane went away: listen here again on the same ports; a port that cannot be had goes through #add. */
  async #takeBackAll(): Promise<void> {
    for (const f of [...this.#active.values()]) {
      if (this.#closed) return;
      if (!(f instanceof PlaneForward)) continue;
      // a plane let go while it runs (auto chose another path) still holds the ports: it lets them go first (a gone
      // plane refuses at once)
      await Promise.all(f.listeners.map((l) => f.plane.close(l).catch(() => {})));
      const servers: Server[] = [];
      for (const address of f.addresses) {
        try {
          servers.push(await listenTcp(address, f.localPort, () => {}));
        } catch (err) {
          this.#options.log?.('debug', `cannot listen on ${address}:${f.localPort} again: ${bindErrorCode(err)}`);
        }
      }
      if (servers.length > 0 && addressOf(servers[0] as Server) === f.addresses[0]) {
        this.#active.set(f.spec.key, this.#tcpForward(f.spec, f.localPort, servers));
        this.#options.log?.(
          'debug',
          `${f.plane.name} gone: listening on ${f.addresses.join(', ')} port ${f.localPort} here again`,
        );
        continue;
      }
      for (const s of servers) s.close();
      this.#remove(f, 'remote_closed');
      await this.#add(f.spec);
    }
  }

  #tcpForward(spec: ForwardSpec, localPort: number, servers: Server[]): TcpForward {
    const log = this.#options.log ?? (() => {});
    return new TcpForward(spec, localPort, servers, {
      dialer: () => this.#waitDialer(),
      currentDialer: () => this.#dialer,
      unixDialer: () => this.#unixDialer,
      log: (level, msg) => log(level, msg),
    });
  }

  #activate(forward: Active): void {
    const spec = forward.spec;
    this.#active.set(spec.key, forward);
    this.emit('forward_added', {
      protocol: spec.protocol,
      remote_addr: spec.remoteHost,
      remote_port: spec.remotePort,
      local_port: forward.localPort,
      local_addrs: forward.addresses,
      ...(spec.process ? { process: spec.process } : {}),
      origin: spec.origin,
      ...(spec.label ? { label: spec.label } : {}),
      type: spec.dynamic ? 'dynamic' : 'local',
      ...(spec.localPath === undefined ? {} : { local_path: spec.localPath }),
      ...(spec.remotePath === undefined ? {} : { remote_path: spec.remotePath }),
    });
  }

  /** A forward listening on a local Unix socket: no port, no remap; a failure leaves it out with a conflict event. */
  async #addUnix(spec: ForwardSpec, path: string): Promise<void> {
    let server: Server;
    try {
      server = await listenUnix(path, this.#options.unixBind ?? {}, () => {});
    } catch (err) {
      this.#skipped.add(spec.key);
      const code = bindErrorCode(err);
      const hint =
        code === 'EADDRINUSE'
          ? ': another process listens there (StreamLocalBindUnlink=yes replaces it)'
          : `: ${(err as Error).message}`;
      this.emit('conflict', {
        protocol: 'tcp',
        remote_port: spec.remotePort,
        wanted_local_port: 0,
        action: 'skip',
        reason: `cannot listen on ${path}${hint}`,
      });
      return;
    }
    if (this.#closed) {
      server.close();
      return;
    }
    this.#activate(this.#tcpForward(spec, 0, [server]));
  }

  /** Binds the primary address (must work) then the others on the same port (best effort). */
  async #bindAll(primary: string, secondary: string[], port: number, spec: ForwardSpec): Promise<Bound> {
    const bindOne = spec.protocol === 'tcp' ? (a: string, p: number) => listenTcp(a, p, () => {}) : bindUdp;
    const first = await bindOne(primary, port);
    const all: Array<Server | UdpSocket> = [first];
    const actual = portOf(first);
    for (const addr of secondary) {
      try {
        all.push(await bindOne(addr, actual));
      } catch (err) {
        this.#options.log?.(
          'debug',
          `remote port ${spec.remotePort}: no ${addr}:${actual} listener (${bindErrorCode(err)})`,
        );
      }
    }
    return spec.protocol === 'tcp'
      ? { kind: 'tcp', port: actual, servers: all as Server[] }
      : { kind: 'udp', port: actual, sockets: all as UdpSocket[] };
  }

  #waitDialer(): Promise<Dialer | undefined> {
    if (this.#dialer) return Promise.resolve(this.#dialer);
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== done);
        resolve(undefined);
      }, this.#options.dialWaitMs ?? 10_000);
      const done = (d: Dialer | undefined) => {
        clearTimeout(timer);
        resolve(d);
      };
      this.#waiters.push(done);
    });
  }
}

function addressOf(s: Server): string {
  const a = s.address();
  return typeof a === 'object' && a ? a.address : '';
}

function portOf(s: Server | UdpSocket): number {
  return 'setBroadcast' in s ? s.address().port : boundPort(s);
}

function sameTarget(a: ForwardSpec | undefined, b: ForwardSpec): boolean {
  return (
    !!a &&
    a.remoteHost === b.remoteHost &&
    a.remotePort === b.remotePort &&
    a.remotePath === b.remotePath &&
    a.bind.join() === b.bind.join()
  );
}
