import { echoRoundTrip } from '@port-linker/datapath';
import type { ForwardPlane } from '@port-linker/forward';
import { masterTarget, OpenSshMaster } from '@port-linker/openssh-plane';
import type { ResolvedHost } from '@port-linker/ssh';
import type { HostEmitter } from './events.ts';
import type { SessionDeps } from './session-deps.ts';

/** A master that exits while it carries the forwards is started again after this long, doubling. */
const RESTART_MS = 1000;
/** Restarts in a row before the host stays on SSH channels until its next reconnect. */
const MAX_RESTARTS = 4;

/** The round trips a `data_path` event carries (ms). */
export type RttFields = { rtt_direct_ms?: number; rtt_ssh_ms?: number; rtt_openssh_ms?: number };

/**
 * OpenSSH's own client as this host's data plane for plain TCP forwards. One ControlMaster (`ssh -M -N`, key-only,
 * BatchMode) per host holds their listeners (MUX_C_OPEN_FWD), so a forwarded byte goes client -> ssh -> sshd as with
 * `ssh -L`, never through Node. The ForwardManager hands listeners to it and takes them back (same ports, SSH
 * channels of port-linker's own connection) when it exits; it is started again after a short backoff.
 *
 * `--data-path openssh` engages it after each connect (`attach`). Under `auto` the DataPath measures a round trip
 * through it (`measure`) and then engages it (`use`) or ends it (`release`). The choice and any fallback are
 * `data_path` events.
 */
export class OpenSshDataPlane {
  readonly #host: ResolvedHost;
  readonly #mode: 'openssh' | 'auto';
  readonly #deps: Pick<SessionDeps, 'log' | 'manager'>;
  readonly #emit: HostEmitter;
  #master: OpenSshMaster | undefined;
  /** The plane the forward manager holds, while it holds one (of #master). */
  #plane: ForwardPlane | undefined;
  #starting: Promise<OpenSshMaster | string> | undefined;
  /** The forwards are to go to the master (restarts included). */
  #engaged = false;
  #stopped = false;
  /** Aborted by stop(): a master still logging in is given up rather than waited for. */
  readonly #stopping = new AbortController();
  #restarts = 0;
  #restartTimer: NodeJS.Timeout | undefined;

  constructor(
    host: ResolvedHost,
    deps: Pick<SessionDeps, 'log' | 'manager'>,
    emit: HostEmitter,
    mode: 'openssh' | 'auto' = 'openssh',
  ) {
    this.#host = host;
    this.#mode = mode;
    this.#deps = deps;
    this.#emit = emit;
  }

  /** The master's pid while it runs. */
  get pid(): number | undefined {
    return this.#master && !this.#master.exited ? this.#master.pid : undefined;
  }

  /** True while the master holds the forwards. */
  get carrying(): boolean {
    return this.#plane !== undefined;
  }

  /** `--data-path openssh`, after each (re)connect of port-linker's own connection: engages the master. */
  attach(): Promise<void> {
    if (this.#mode !== 'openssh') return Promise.resolve();
    this.#restarts = 0;
    this.#engaged = true;
    return this.#engage();
  }

  /** `auto`: the median 64-byte round trip to the agent's echo through the master (started if none runs), or why not. */
  async measure(echoPort: number): Promise<number | string> {
    const master = await this.#ensureMaster();
    if (typeof master === 'string') return master;
    try {
      return await echoRoundTrip(await master.connectThrough('127.0.0.1', echoPort));
    } catch (err) {
      return `no echo through the ControlMaster: ${(err as Error).message}`;
    }
  }

  /** `auto` chose OpenSSH: the forwards go to the master; `reason` and `rtt` go into the data_path event. */
  use(reason: string, rtt: RttFields): Promise<void> {
    this.#restarts = 0;
    this.#engaged = true;
    return this.#engage(reason, rtt);
  }

  /**
   * `auto` chose another path, or port-linker's own connection dropped (the master's is likely gone with it): the
   * forwards come back here on the same ports and the master ends. The next attach/use starts a new one.
   */
  async release(): Promise<void> {
    this.#engaged = false;
    clearTimeout(this.#restartTimer);
    await this.#starting;
    const master = this.#master;
    this.#master = undefined;
    if (this.#plane) {
      this.#plane = undefined;
      await this.#deps.manager.setPlane(undefined);
    }
    await master?.stop();
  }

  /** The running master, or a new one; a string says why there is none. */
  #ensureMaster(): Promise<OpenSshMaster | string> {
    if (this.#stopped) return Promise.resolve('the host is stopping');
    if (this.#master && !this.#master.exited) return Promise.resolve(this.#master);
    this.#starting ??= this.#startMaster().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #startMaster(): Promise<OpenSshMaster | string> {
    const target = masterTarget(this.#host);
    if (typeof target === 'string') return target;
    let master: OpenSshMaster;
    try {
      master = await OpenSshMaster.start(target, {
        log: (level, msg) => this.#deps.log.log(level, msg),
        signal: this.#stopping.signal,
      });
    } catch (err) {
      return (err as Error).message;
    }
    if (this.#stopped) {
      await master.stop();
      return 'the host is stopping';
    }
    this.#master = master;
    master.once('exit', (why) => {
      if (this.#master !== master) return;
      this.#master = undefined;
      if (this.#stopped || !this.#plane) return;
      this.#plane = undefined;
      void this.#deps.manager.setPlane(undefined);
      this.#fallback(`the ControlMaster exited (${why})`);
      if (this.#engaged && this.#restarts++ < MAX_RESTARTS) {
        this.#restartTimer = setTimeout(() => void this.#engage(), RESTART_MS * 2 ** (this.#restarts - 1));
        this.#restartTimer.unref();
      }
    });
    return master;
  }

  /** Hands the forwards to the master (started if needed) and says so. */
  async #engage(reason?: string, rtt: RttFields = {}): Promise<void> {
    const master = await this.#ensureMaster();
    if (typeof master === 'string') return this.#fallback(master, rtt);
    if (this.#stopped || !this.#engaged) return;
    if (!this.#plane) {
      const plane: ForwardPlane = {
        name: 'openssh',
        open: (l) => master.openForward(l),
        close: (l) => master.closeForward(l),
      };
      this.#plane = plane;
      await this.#deps.manager.setPlane(plane);
    }
    this.#emit('data_path', {
      kind: 'openssh',
      mode: this.#mode,
      reason: reason ?? `OpenSSH ControlMaster, pid ${master.pid}`,
      ...rtt,
    });
    this.#deps.log.info(`data path: openssh (ControlMaster pid ${master.pid}${reason ? `; ${reason}` : ''})`);
  }

  #fallback(why: string, rtt: RttFields = {}): void {
    this.#emit('data_path', {
      kind: 'ssh',
      mode: this.#mode,
      reason: `OpenSSH data plane unavailable: ${why}`,
      ...rtt,
    });
    this.#deps.log.warn(`data path: ssh (the OpenSSH data plane is unavailable: ${why})`);
  }

  /** Ends the master (the host stops). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort();
    clearTimeout(this.#restartTimer);
    await this.#starting;
    await this.#master?.stop();
    this.#master = undefined;
  }
}
