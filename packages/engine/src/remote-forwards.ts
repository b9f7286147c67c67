import { connect as netConnect, type Socket } from 'node:net';
import { describeRemoteTarget, pipeBoth, type RemoteForwardSpec, serveSocks } from '@port-linker/forward';
import type { ForwardedConnection, SshConnection } from '@port-linker/ssh';
import type { HostEmitter } from './events.ts';
import type { SessionLog } from './session-deps.ts';

/** How often a remote forward the server refused is asked for again while connected. */
const RETRY_MS = 5000;

/** A `-R` forward as snapshots show it: listening (with the server's port), refused (with why), or waiting. */
export interface RemoteForwardInfo {
  /** The `-R` text as written. */
  spec: string;
  bindAddress: string;
  requestedPort: number;
  /** The port the server bound (its pick for port 0); absent unless listening on a port. */
  remotePort?: number;
  remotePath?: string;
  /** Where its connections go here: `localhost:3000`, a socket path, or `socks`. */
  target: string;
  state: 'listening' | 'refused' | 'waiting';
  reason?: string;
}

/** One remote forward on the current connection. */
interface Listening {
  spec: RemoteForwardSpec;
  /** The port the server bound (the asked one, or its pick for port 0); 0 for a Unix socket. */
  port: number;
}

/**
 * A host's `-R` forwards: asked for on every connection (so a reconnect restores them), each incoming connection
 * taken to its local target (host:port, a local Unix socket, or a SOCKS request answered from here for dynamic
 * reverse forwards). A refused forward is retried every few seconds (a server that just restarted may still hold
 * the old listener); `failures()` says which ones are missing now.
 */
export class RemoteForwards {
  readonly #specs: RemoteForwardSpec[];
  readonly #log: SessionLog;
  readonly #emit: HostEmitter;
  /** By `address:port` as the server reports connections (ssh2's key), or by socket path. */
  #listening = new Map<string, Listening>();
  #failed = new Map<string, string>();
  #conn: SshConnection | undefined;
  #retry: NodeJS.Timeout | undefined;
  readonly #sockets = new Set<Socket>();

  constructor(specs: RemoteForwardSpec[], deps: { log: SessionLog; emit: HostEmitter }) {
    this.#specs = specs;
    this.#log = deps.log;
    this.#emit = deps.emit;
  }

  get size(): number {
    return this.#specs.length;
  }

  /** Asks the server for every forward on a new connection; resolves once each was answered. */
  async establish(conn: SshConnection): Promise<void> {
    this.detach();
    if (this.#specs.length === 0) return;
    this.#conn = conn;
    conn.on('forwarded', this.#onForwarded);
    await Promise.all(this.#specs.map((s) => this.#request(conn, s)));
    this.#scheduleRetry();
  }

  /** Every forward with where it stands on the current connection (`waiting` while disconnected or asking). */
  list(): RemoteForwardInfo[] {
    const listening = new Map([...this.#listening.values()].map((l) => [l.spec.key, l]));
    return this.#specs.map((spec) => {
      const on = listening.get(spec.key);
      const reason = this.#failed.get(spec.key);
      return {
        spec: spec.text,
        bindAddress: spec.bindAddress,
        requestedPort: spec.port,
        ...(on && spec.path === undefined ? { remotePort: on.port } : {}),
        ...(spec.path === undefined ? {} : { remotePath: spec.path }),
        target: describeRemoteTarget(spec.target),
        state: on ? 'listening' : reason !== undefined ? 'refused' : 'waiting',
        ...(reason === undefined ? {} : { reason }),
      };
    });
  }

  /** The forwards the server refused on this connection, with why (ExitOnForwardFailure looks here). */
  failures(): Array<{ spec: RemoteForwardSpec; reason: string }> {
    return this.#specs.flatMap((spec) => {
      const reason = this.#failed.get(spec.key);
      return reason === undefined ? [] : [{ spec, reason }];
    });
  }

  /** Forgets the connection (it closed): its listeners are gone with it; the next `establish` asks again. */
  detach(): void {
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#conn?.off('forwarded', this.#onForwarded);
    this.#conn = undefined;
    this.#listening = new Map();
    this.#failed = new Map();
  }

  /** Detaches and cuts every connection still open. */
  close(): void {
    this.detach();
    for (const s of this.#sockets) s.destroy();
  }

  async #request(conn: SshConnection, spec: RemoteForwardSpec): Promise<void> {
    const target = describeRemoteTarget(spec.target);
    try {
      let port = 0;
      if (spec.path !== undefined) await conn.forwardInUnix(spec.path);
      else port = await conn.forwardIn(spec.bindAddress, spec.port);
      // a grant for a link detached meanwhile: its listener went with it (and #listening is the next link's)
      if (this.#conn !== conn) return;
      if (spec.path !== undefined) this.#listening.set(spec.path, { spec, port: 0 });
      else this.#listening.set(`${spec.bindAddress}:${port}`, { spec, port });
      this.#failed.delete(spec.key);
      this.#emit('remote_forward_added', {
        bind_addr: spec.bindAddress,
        remote_port: port,
        requested_port: spec.port,
        ...(spec.path === undefined ? {} : { remote_path: spec.path }),
        target,
      });
    } catch (err) {
      if (this.#conn !== conn) return;
      const reason = (err as Error).message;
      const first = !this.#failed.has(spec.key);
      this.#failed.set(spec.key, reason);
      if (first) {
        this.#emit('remote_forward_failed', {
          bind_addr: spec.bindAddress,
          remote_port: spec.port,
          ...(spec.path === undefined ? {} : { remote_path: spec.path }),
          target,
          reason,
        });
      }
    }
  }

  #scheduleRetry(): void {
    clearTimeout(this.#retry);
    if (this.#failed.size === 0 || !this.#conn) return;
    this.#retry = setTimeout(() => {
      const conn = this.#conn;
      if (!conn) return;
      const again = this.#specs.filter((s) => this.#failed.has(s.key));
      void Promise.all(again.map((s) => this.#request(conn, s))).then(() => this.#scheduleRetry());
    }, RETRY_MS);
    this.#retry.unref();
  }

  readonly #onForwarded = (c: ForwardedConnection): void => {
    const hit = this.#listening.get(c.kind === 'unix' ? c.socketPath : `${c.destAddress}:${c.destPort}`);
    if (!hit) {
      c.reject();
      return;
    }
    const channel = c.accept();
    const target = hit.spec.target;
    if (target.kind === 'socks') {
      serveSocks(channel, (host, port) => this.#dialLocal({ host, port })).then(
        ({ remote }) => {
          pipeBoth(remote as Socket, channel);
          channel.resume(); // serveSocks leaves the client paused
        },
        (err: Error) => this.#log.log('debug', `-R ${hit.spec.text}: ${err.message}`),
      );
      return;
    }
    this.#dialLocal(target.kind === 'unix' ? { path: target.path } : { host: target.host, port: target.port }).then(
      (local) => pipeBoth(local, channel),
      (err: Error) => {
        this.#log.warn(`-R ${hit.spec.text}: cannot reach ${describeRemoteTarget(target)} here: ${err.message}`);
        channel.destroy();
      },
    );
  };

  /** Connects to a target on this machine. */
  #dialLocal(to: { host: string; port: number } | { path: string }): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const sock = netConnect({ ...to, allowHalfOpen: true, ...('port' in to ? { noDelay: true } : {}) });
      this.#sockets.add(sock);
      sock.once('close', () => this.#sockets.delete(sock));
      sock.once('connect', () => {
        sock.off('error', reject);
        sock.pause();
        resolve(sock);
      });
      sock.once('error', reject);
    });
  }
}
