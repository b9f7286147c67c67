import type { ForwardPlane } from '@port-linker/forward';
import { masterTarget, OpenSshMaster } from '@port-linker/openssh-plane';
import type { ResolvedHost } from '@port-linker/ssh';
import type { HostEmitter } from './events.ts';
import type { SessionDeps } from './session-deps.ts';

/** A master that exits while the host is connected is started again after this long, doubling. */
const RESTART_MS = 1000;
/** Restarts in a row before the host stays on SSH channels until its next reconnect. */
const MAX_RESTARTS = 4;

/**
 * `--data-path openssh`: OpenSSH's own client carries this host's plain TCP forwards. One ControlMaster (`ssh -M
 * -N`, key-only, BatchMode) per host holds their listeners (MUX_C_OPEN_FWD), so a forwarded byte goes client ->
 * ssh -> sshd as with `ssh -L`, never through Node. The ForwardManager hands listeners to it and takes them back
 * (same ports, SSH channels of port-linker's own connection) when it exits; it is started again after a reconnect
 * or a short backoff. The choice and any fallback are `data_path` events.
 */
export class OpenSshDataPlane {
  readonly #host: ResolvedHost;
  readonly #deps: Pick<SessionDeps, 'log' | 'manager'>;
  readonly #emit: HostEmitter;
  #master: OpenSshMaster | undefined;
  #starting: Promise<void> | undefined;
  #stopped = false;
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

  /** After each (re)connect of port-linker's own connection: starts the master unless one runs. */
  attach(): Promise<void> {
    this.#restarts = 0;
    return this.#ensure();
  }

  #ensure(): Promise<void> {
    if (this.#stopped || this.pid !== undefined) return Promise.resolve();
    this.#starting ??= this.#start().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    const target = masterTarget(this.#host);
    if (typeof target === 'string') return this.#fallback(target);
    let master: OpenSshMaster;
    try {
      master = await OpenSshMaster.start(target, { log: (level, msg) => this.#deps.log.log(level, msg) });
    } catch (err) {
      return this.#fallback((err as Error).message);
    }
    if (this.#stopped) return master.stop();
    this.#master = master;
    const plane: ForwardPlane = {
      name: 'openssh',
      open: (l) => master.openForward(l),
      close: (l) => master.closeForward(l),
    };
    master.once('exit', (why) => {
      if (this.#master === master) this.#master = undefined;
      if (this.#stopped) return;
      void this.#deps.manager.setPlane(undefined);
      this.#fallback(`the ControlMaster exited (${why})`);
      if (this.#restarts++ < MAX_RESTARTS) {
        this.#restartTimer = setTimeout(() => void this.#ensure(), RESTART_MS * 2 ** (this.#restarts - 1));
        this.#restartTimer.unref();
      }
    });
    await this.#deps.manager.setPlane(plane);
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
    clearTimeout(this.#restartTimer);
    await this.#starting;
    await this.#master?.stop();
    this.#master = undefined;
  }
}
