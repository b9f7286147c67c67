import { lookup } from 'node:dns/promises';
import { type AgentLink, type DeployResult, deployAgent, loadQuicConnector, startAgent } from '@port-linker/deploy';
import type { Message } from '@port-linker/proto';
import type { ResolvedHost, SshConnection } from '@port-linker/ssh';
import type { DataPath } from './data-path.ts';
import type { ForwardSync } from './forward-sync.ts';
import type { HostOptions } from './host-options.ts';
import type { Level, SessionDeps } from './session-deps.ts';

/** How often the agent checks its scanner (ms): fast enough for the < 250 ms detection target. */
const WATCH_INTERVAL_MS = 150;

/** How the agent is deployed and started (default: the real steps; tests inject fakes). */
export interface AgentSteps {
  deploy?: typeof deployAgent;
  start?: typeof startAgent;
}

/**
 * The agent link of one host: deploys and starts the agent on each new connection, feeds its ScanDeltas to the
 * forward sync and its UDP datagrams to the forward manager, restarts it when it dies and falls back to agentless
 * scanning when it keeps dying.
 */
/** How long an agent death waits for the link check that decides whether it counts. */
const LINK_CHECK_MS = 3000;

export class AgentSupervisor {
  readonly #cfg: HostOptions;
  readonly #host: ResolvedHost;
  readonly #deps: SessionDeps;
  readonly #sync: ForwardSync;
  readonly #deploy: typeof deployAgent;
  readonly #start: typeof startAgent;
  readonly #dataPath: DataPath | undefined;
  #link: AgentLink | undefined;
  #pingSeq = 1n << 62n; // apart from the link's own periodic pings

  constructor(
    cfg: HostOptions,
    host: ResolvedHost,
    deps: SessionDeps,
    sync: ForwardSync,
    steps: AgentSteps = {},
    dataPath?: DataPath,
  ) {
    this.#dataPath = dataPath;
    this.#cfg = cfg;
    this.#host = host;
    this.#deps = deps;
    this.#sync = sync;
    this.#deploy = steps.deploy ?? deployAgent;
    this.#start = steps.start ?? startAgent;
    // UDP forwards live on the agent: tell it when one starts or stops.
    deps.manager.on('forward_added', (e) => {
      if (e.protocol === 'udp')
        this.#link?.send({ type: 'StartUdpForward', port: e.remote_port, address: e.remote_addr });
    });
    deps.manager.on('forward_removed', (e) => {
      if (e.protocol === 'udp' && e.reason !== 'shutdown')
        this.#link?.send({ type: 'StopUdpForward', port: e.remote_port });
    });
  }

  /**
   * Pings the running agent now: true when its Pong comes within `timeoutMs`, undefined when no agent runs. A silent
   * agent's link is closed, so the supervisor restarts it at once (instead of after the link's silence timeout).
   */
  async ping(timeoutMs: number): Promise<boolean | undefined> {
    const link = this.#link;
    if (!link) return undefined;
    const value = this.#pingSeq++;
    let timer: NodeJS.Timeout | undefined;
    let onMessage: ((m: Message) => void) | undefined;
    const answered = await new Promise<boolean>((resolve) => {
      onMessage = (m: Message) => {
        if (m.type === 'Pong' && m.value === value) resolve(true);
      };
      link.on('message', onMessage);
      timer = setTimeout(() => resolve(false), timeoutMs);
      link.send({ type: 'Ping', value });
    });
    clearTimeout(timer);
    if (onMessage) link.off('message', onMessage);
    if (!answered && this.#link === link) {
      this.#deps.log.warn(`agent did not answer a ping within ${timeoutMs / 1000} s: restarting it`);
      void link.close().catch(() => {});
    }
    return answered;
  }

  /** Asks the running agent to shut down and closes its link. */
  async stop(): Promise<void> {
    const link = this.#link;
    this.#link = undefined;
    if (!link) return;
    // supervise() no longer sees this link as current, so it would leave the sender pointing at the dead link
    this.#deps.manager.setUdpSender(undefined);
    try {
      link.send({ type: 'Shutdown' });
    } catch {
      // channel already gone
    }
    await link.close().catch(() => {});
  }

  /** Deploys and runs the agent for one connection; restarts it if it dies, falls back to agentless. */
  async supervise(conn: SshConnection, closed: Promise<string>, signal: AbortSignal): Promise<void> {
    const { log, emit, view } = this.#deps;
    let mode = this.#cfg.agent;
    /** Why this session scans agentless when it was not asked to (the `agent` event's reason). */
    let fallback: string | undefined;
    let gone = false;
    void closed.then(() => {
      gone = true;
    });
    const starts: number[] = [];
    while (!gone && !signal.aborted) {
      let deployed: DeployResult;
      let link: AgentLink;
      try {
        const quic = this.#cfg.transport === 'quic';
        // the agent ships its own debug/trace lines only when the user asked for them (frames cost)
        const logLevel = this.#cfg.logLevel === 'debug' || this.#cfg.logLevel === 'trace' ? this.#cfg.logLevel : 'info';
        deployed = await this.#deploy(conn, {
          mode,
          log: (level, msg) => log.log(level, msg),
          quic,
          startInProbe: { logLevel },
        });
        link = await this.#start(conn, deployed, {
          log: (level: Level, msg: string) => log.log(level, msg),
          logLevel,
          transport: this.#cfg.transport,
          dial: (h, p) => conn.forwardOut(h, p),
          ...(quic ? { quic: () => this.#quicConnector(conn) } : {}),
        });
      } catch (err) {
        if (gone || signal.aborted) return;
        if (!this.#cfg.auto) {
          // the agent was there for the direct data path only: SSH channels carry everything
          log.info(`agent could not start (${(err as Error).message.split('\n')[0]}); data path: SSH channels`);
          emit('data_path', {
            kind: 'ssh',
            mode: this.#dataPath?.mode ?? 'auto',
            reason: `the agent could not start: ${(err as Error).message.split('\n')[0]}`,
          });
          return;
        }
        if (mode !== 'none') {
          log.warn(`agent could not start (${(err as Error).message}); falling back to agentless scanning`);
          mode = 'none';
          fallback = `the agent could not start: ${(err as Error).message.split('\n')[0]}`;
          continue;
        }
        log.error(`agentless scanning failed too: ${(err as Error).message}; only explicit forwards work`);
        emit('error', { message: (err as Error).message });
        return;
      }
      if (gone || signal.aborted) {
        await link.close().catch(() => {});
        return;
      }
      this.#link = link;
      this.#sync.ownPorts = [...(link.ownPorts ?? [])];
      this.#attachUdp(link);
      const transport = link.transport ?? 'stdio';
      emit('agent', {
        mode: deployed.mode,
        transport,
        platform: deployed.platform,
        bytes_uploaded: deployed.bytesUploaded,
        ...(link.info?.pid ? { pid: link.info.pid } : {}), // agentless scanning has no agent process
        ...(fallback && deployed.mode === 'none'
          ? { reason: fallback }
          : deployed.reason
            ? { reason: deployed.reason }
            : {}),
      });
      log.info(
        `agent: ${deployed.mode} on ${deployed.platform}, transport ${transport}, ${deployed.bytesUploaded} bytes uploaded${deployed.reason ? ` (${deployed.reason})` : ''}`,
      );
      view?.setAgent(`${deployed.mode}/${transport}`);
      link.on('message', (m: Message) => this.#onAgentMessage(m));
      // the agent's info lines (scanner chosen, watch started, ...) are detail for the user: shown with --log-level debug
      link.on('log', (e) =>
        log.log(e.level === 'info' ? 'debug' : e.level, e.message, { source: 'agent', target: e.target || undefined }),
      );
      const exited = new Promise<string>((resolve) => link.once('exit', (reason: string) => resolve(reason)));
      if (this.#cfg.auto) link.send({ type: 'WatchRequest', ...this.#sync.protocols(), intervalMs: WATCH_INTERVAL_MS });
      void this.#dataPath?.attach(conn, link);
      const reason = await Promise.race([exited, closed.then(() => 'connection closed')]);
      this.#dataPath?.detach();
      if (this.#link === link) {
        this.#link = undefined;
        this.#deps.manager.setUdpSender(undefined);
      }
      if (gone || signal.aborted) return;
      log.warn(`agent exited (${reason}); restarting it`);
      // an agent that went with a dead link (it exits when the host falls silent) is not the agent's fault: only
      // deaths over a live link count towards agentless scanning
      if (!(await conn.checkAlive(LINK_CHECK_MS))) {
        if (gone || signal.aborted) return;
        continue;
      }
      const now = Date.now();
      starts.push(now);
      if (starts.filter((t) => now - t < 60_000).length >= 3 && !this.#cfg.auto) {
        log.warn('agent keeps dying; data path: SSH channels');
        return;
      }
      if (starts.filter((t) => now - t < 60_000).length >= 3 && mode !== 'none') {
        log.warn('agent keeps dying; switching to agentless scanning');
        mode = 'none';
        fallback = 'the agent died 3 times in a minute over a live link';
      }
    }
  }

  /**
   * The QUIC side for this host (loaded only for `--transport quic`): UDP to the address the SSH connection's TCP
   * socket reached. Through a jump host or ProxyCommand there is no such socket: HostName is resolved instead, and
   * that address is usually not reachable over UDP (the attempt times out and tcp is used).
   */
  async #quicConnector(conn: SshConnection) {
    if (conn.remoteAddress) return loadQuicConnector(conn.remoteAddress);
    const { hostname } = this.#host;
    this.#deps.log.info(`quic: SSH goes through a jump host or ProxyCommand; trying UDP to ${hostname} directly`);
    const { address } = await lookup(hostname).catch((err: Error) => {
      throw new Error(`cannot resolve ${hostname} for UDP: ${err.message}`);
    });
    return loadQuicConnector(address);
  }

  /** Routes UDP through this agent when it can relay it; re-announces UDP forwards that outlived the last agent. */
  #attachUdp(link: AgentLink): void {
    const { manager, log } = this.#deps;
    this.#sync.udp = this.#cfg.protocol !== 'tcp' && (link.info?.capabilities.includes('udp') ?? false);
    if (this.#cfg.protocol !== 'tcp' && !this.#sync.udp)
      log.warn(`agent mode ${link.mode} cannot relay UDP: mirroring TCP only`);
    if (!this.#sync.udp) {
      manager.setUdpSender(undefined);
      return;
    }
    manager.setUdpSender((packet) => {
      if (link.congested) return false;
      link.send(packet);
      return true;
    });
    for (const f of manager.list()) {
      if (f.spec.protocol === 'udp')
        link.send({ type: 'StartUdpForward', port: f.spec.remotePort, address: f.spec.remoteHost });
    }
  }

  #onAgentMessage(m: Message): void {
    if (m.type === 'UdpPacket') {
      this.#deps.manager.deliverUdp(m);
      return;
    }
    if (m.type === 'ScanDelta') this.#sync.apply(m);
  }
}
