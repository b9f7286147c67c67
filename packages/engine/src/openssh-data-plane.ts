import type { ForwardPlane } from '@port-linker/forward';
import { masterTarget, OpenSshMaster } from '@port-linker/openssh-plane';
import type { ResolvedHost } from '@port-linker/ssh';
import type { HostEmitter } from './events.ts';
import type { SessionDeps } from './session-deps.ts';

/** A master that exits while it carries the forwards is started again after this long, doubling. */
const RESTART_MS = 1000;
/** Restarts in a row before the host stays on SSH channels until its next reconnect. */
const MAX_RESTARTS = 4;

/**
 * OpenSSH's own client as this host's data plane for plain TCP forwards. One ControlMaster (`ssh -M -N`, key-only,
 * BatchMode) per host holds their listeners (MUX_C_OPEN_FWD), so a forwarded byte goes client -> ssh -> sshd as with
 * `ssh -L`, never through Node. The ForwardManager hands listeners to it and takes them back (same ports, SSH
 * channels of port-linker's own connection) when it exits; it is started again after a short backoff.
 * `--data-path openssh` engages it after each connect (`attach`); the choice and any fallback are `data_path` events.
 */
export class OpenSshDataPlane {
  readonly #host: ResolvedHost;
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

  constructor(host: ResolvedHost, deps: Pick<SessionDeps, 'log' | 'manager'>, emit: HostEmitter) {
    this.#host = host;
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
    this.#restarts = 0;
    this.#engaged = true;
    return this.#engage();
  }

  /**
   * Port-linker's own connection dropped (the master's is likely gone with it): the forwards come back here on the
   * same ports and the master ends. The next attach starts a new one.
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
  async #engage(): Promise<void> {
    const master = await this.#ensureMaster();
    if (typeof master === 'string') return this.#fallback(master);
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
    this.#emit('data_path', { kind: 'openssh', mode: 'openssh', reason: `OpenSSH ControlMaster, pid ${master.pid}` });
    this.#deps.log.info(`data path: openssh (ControlMaster pid ${master.pid})`);
  }

  #fallback(why: string): void {
    this.#emit('data_path', { kind: 'ssh', mode: 'openssh', reason: `OpenSSH data plane unavailable: ${why}` });
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
