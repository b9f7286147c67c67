import type { ForwardSpec } from './forward-spec.ts';
import type { ForwardStats } from './tcp-forward.ts';

/** One listener a plane holds: listen here, connect there (as seen from the remote). */
export interface PlaneListener {
  listenHost: string;
  listenPort: number;
  connectHost: string;
  connectPort: number;
}

/**
 * A data plane outside this process that holds a forward's listener itself and carries its connections (OpenSSH's
 * ControlMaster: packages/openssh-plane). Node then never sees the bytes, and keeps no counters for them.
 */
export interface ForwardPlane {
  /** Short name for logs and status (`openssh`). */
  readonly name: string;
  /** Listens through the plane; rejects with the plane's reason (a port in use, the plane gone). */
  open(l: PlaneListener): Promise<void>;
  /** Stops a listener; connections already open go on. */
  close(l: PlaneListener): Promise<void>;
}

/** Whether a forward can be handed to a plane: a plain TCP port to a remote host:port (no SOCKS, no Unix socket). */
export function planeEligible(spec: ForwardSpec): boolean {
  return spec.protocol === 'tcp' && !spec.dynamic && spec.localPath === undefined && spec.remotePath === undefined;
}

/** A forward whose listeners a plane holds. */
export class PlaneForward {
  readonly spec: ForwardSpec;
  readonly localPort: number;
  readonly plane: ForwardPlane;
  readonly addresses: string[];
  #open = true;

  constructor(spec: ForwardSpec, localPort: number, plane: ForwardPlane, addresses: string[]) {
    this.spec = spec;
    this.localPort = localPort;
    this.plane = plane;
    this.addresses = addresses;
  }

  /** The listeners this forward asked the plane for. */
  get listeners(): PlaneListener[] {
    return this.addresses.map((listenHost) => listenerOf(this.spec, listenHost, this.localPort));
  }

  /** The plane's connections are not counted here. */
  get stats(): ForwardStats {
    return { open: 0, total: 0, failed: 0, bytesIn: 0, bytesOut: 0 };
  }

  /** Asks the plane to stop listening (open connections finish there). */
  stopAccepting(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const l of this.listeners) void this.plane.close(l).catch(() => {});
  }

  /** The same: a plane's open connections end with the plane. */
  destroy(): void {
    this.stopAccepting();
  }
}

export function listenerOf(spec: ForwardSpec, listenHost: string, port: number): PlaneListener {
  return { listenHost, listenPort: port, connectHost: spec.remoteHost, connectPort: spec.remotePort };
}
