import {
  type ForwardManager,
  type ForwardSpec,
  type PortFilter,
  parseDynamicForward,
  parseLocalForward,
  parseRemoteForward,
  type RemoteForwardSpec,
} from '@port-linker/forward';
import type { MessageOf } from '@port-linker/proto';
import type { ResolvedHost } from '@port-linker/ssh';
import type { HostOptions } from './host-options.ts';
import { RemotePorts } from './remote-ports.ts';
import type { SessionLog } from './session-deps.ts';

/**
 * One host's forward sync: the host's copy of the remote's listening sockets (from the agent's ScanDeltas) plus its
 * explicit `-L` forwards, turned into the desired set of forwards under the port filter and handed to the
 * ForwardManager. Knows nothing of SSH or the agent's lifecycle.
 */
/** How long the own ports of a replaced agent stay excluded: past the agent's 30 s silence timeout. */
const OWN_PORT_LINGER_MS = 60_000;

export class ForwardSync {
  readonly #cfg: HostOptions;
  readonly #manager: ForwardManager;
  readonly #filter: PortFilter;
  readonly #log: SessionLog;
  readonly #remote = new RemotePorts();
  #explicit: ForwardSpec[];
  /** `-R` forwards (ssh_config RemoteForward, then -R); the session asks the server for them. */
  readonly remote: RemoteForwardSpec[];
  readonly #parse: { gatewayPorts: boolean };
  /** Ports the running agent listens on itself (transports, data path). */
  #own: number[] = [];
  /** Own ports of agents that went, and until when (performance.now()): see OWN_PORT_LINGER_MS. */
  readonly #lingering = new Map<number, number>();
  /** Whether the running agent relays UDP (agentless mode cannot). */
  udp = false;
  /** Forwards stopped from outside (the dashboard), by key: kept out of the desired set until started again. */
  readonly #stopped = new Map<string, ForwardSpec>();
  /** The specs of the last sync, by key (what `stop` can name). */
  #current = new Map<string, ForwardSpec>();

  /**
   * Explicit forwards (ssh_config LocalForward, DynamicForward and RemoteForward, then -L, -D and -R) are parsed
   * here: UsageError on junk. ClearAllForwardings drops them all, the command line's too, as OpenSSH does.
   */
  constructor(
    cfg: HostOptions,
    host: ResolvedHost,
    deps: { manager: ForwardManager; filter: PortFilter; log: SessionLog },
  ) {
    this.#cfg = cfg;
    this.#manager = deps.manager;
    this.#filter = deps.filter;
    this.#log = deps.log;
    this.#parse = { gatewayPorts: host.gatewayPorts === true };
    const named = (spec: ForwardSpec, text: string): ForwardSpec => {
      const name = cfg.forwardNames?.[text];
      return name === undefined ? spec : { ...spec, label: name };
    };
    const clear = host.clearAllForwardings === true;
    const local = clear ? [] : [...host.localForwards.map(fromConfigLine), ...cfg.localForwards];
    const dynamic = clear ? [] : [...(host.dynamicForwards ?? []), ...(cfg.dynamicForwards ?? [])];
    const remote = clear ? [] : [...(host.remoteForwards ?? []).map(fromConfigLine), ...(cfg.remoteForwards ?? [])];
    this.#explicit = [
      ...local.map((t) => named(parseLocalForward(t, this.#parse), t)),
      ...dynamic.map((t) => named(parseDynamicForward(t.trim(), this.#parse), t)),
    ];
    this.remote = remote.map(parseRemoteForward);
  }

  /** The explicit local and dynamic forwards that could not be set up (their local port or socket is taken). */
  failedExplicit(): ForwardSpec[] {
    return this.#explicit.filter((f) => !this.#stopped.has(f.key) && this.#manager.isSkipped(f.key));
  }

  /** Adds an explicit `-L` forward (`[bind:]lport:rhost:rport`; UsageError on junk); returns its key. */
  async addForward(text: string): Promise<string> {
    const spec = parseLocalForward(text, this.#parse);
    if (!this.#explicit.some((f) => f.key === spec.key)) this.#explicit = [...this.#explicit, spec];
    await this.resync();
    return spec.key;
  }

  /** Removes an explicit forward by its `-L` text or key; false when there is none. */
  async removeForward(textOrKey: string): Promise<boolean> {
    let key = textOrKey;
    try {
      key = parseLocalForward(textOrKey, this.#parse).key;
    } catch {
      // a key, not -L text
    }
    const before = this.#explicit.length;
    this.#explicit = this.#explicit.filter((f) => f.key !== key);
    if (this.#explicit.length === before) return false;
    await this.resync();
    return true;
  }

  /** Stops one forward (its key) until `start`: its listener closes; false when no such forward runs. */
  async stop(key: string): Promise<boolean> {
    const spec = this.#current.get(key);
    if (!spec || this.#stopped.has(key)) return false;
    this.#stopped.set(key, spec);
    await this.resync();
    return true;
  }

  /** Starts a stopped forward again (on the local port it had); false when it was not stopped. */
  async start(key: string): Promise<boolean> {
    if (!this.#stopped.delete(key)) return false;
    await this.resync();
    return true;
  }

  /** The forwards stopped from outside. */
  stopped(): ForwardSpec[] {
    return [...this.#stopped.values()];
  }

  /** Applies one push from the agent and re-syncs. */
  apply(delta: MessageOf<'ScanDelta'>): void {
    this.#remote.apply(delta);
    void this.resync();
  }

  /** Which protocols are mirrored now (UDP only while the agent relays it). */
  /**
   * Ports excluded from mirroring because an agent of ours listens on them: the running agent's, and those of the
   * agents before it for OWN_PORT_LINGER_MS (after a dropped connection the old agent lives on until its silence
   * timeout, and the new one would otherwise mirror its listeners).
   */
  get ownPorts(): number[] {
    const now = performance.now();
    for (const [port, until] of this.#lingering) if (until <= now) this.#lingering.delete(port);
    return [...new Set([...this.#own, ...this.#lingering.keys()])];
  }

  /** The running agent's own ports (a new agent's replace the old one's, which linger). */
  set ownPorts(ports: number[]) {
    const gone = this.#own.filter((p) => !ports.includes(p));
    for (const p of gone) this.#lingering.set(p, performance.now() + OWN_PORT_LINGER_MS);
    for (const p of ports) this.#lingering.delete(p);
    this.#own = [...ports];
    // once they stop lingering, a service of the user's on one of those ports is mirrored again
    if (gone.length > 0) setTimeout(() => void this.resync(), OWN_PORT_LINGER_MS + 100).unref();
  }

  /** One more port the running agent listens on (its data path). */
  addOwnPort(port: number): boolean {
    if (this.#own.includes(port)) return false;
    this.ownPorts = [...this.#own, port];
    return true;
  }

  protocols(): { tcp: boolean; udp: boolean } {
    return { tcp: this.#cfg.protocol !== 'udp', udp: this.udp };
  }

  /** Makes the forward manager's set equal the desired one. */
  async resync(): Promise<void> {
    const { specs, notes } = this.#remote.desired(this.#filter.withExcluded(this.ownPorts), this.protocols());
    for (const n of notes) this.#log.info(n);
    const bind = this.#cfg.bindAddress;
    const attributes = this.#cfg.attributes;
    const mirrored = specs.flatMap((spec) => {
      const a = attributes?.for(spec.remotePort);
      if (a?.onForward === 'ignore') return [];
      return [
        {
          ...spec,
          ...(bind ? { bind: [bind] } : {}),
          ...(a?.label ? { label: a.label } : {}),
          ...(a?.requireLocalPort ? { requireLocalPort: true } : {}),
        },
      ];
    });
    const desired = [...this.#explicit, ...(this.#cfg.auto ? mirrored : [])];
    this.#current = new Map(desired.map((f) => [f.key, f]));
    await this.#manager.sync(desired.filter((f) => !this.#stopped.has(f.key)));
  }
}

/** ssh_config `LocalForward [bind:]port host:hostport` (or RemoteForward) -> the -L (-R) form. */
function fromConfigLine(line: string): string {
  const [listen = '', target] = line.trim().split(/\s+/);
  return target === undefined ? listen : `${listen}:${target}`;
}
