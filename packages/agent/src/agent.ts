import type { AgentInfo, LogLevelName, Message, UnknownMessage } from '@port-linker/proto';
import type { Scanner } from '@port-linker/scanner';
import type { AgentContext, AgentFeature } from './agent-feature.ts';
import { WatchLoop } from './watch-loop.ts';

/** The agent's outbound side (a FrameSink in production). */
export interface AgentOutput {
  send(message: Message): boolean;
  readonly congested: boolean;
  whenDrained(): Promise<void>;
}

/** Everything the agent core works with, injected. */
export interface AgentDeps {
  output: AgentOutput;
  log: AgentContext['log'];
  /** Undefined when no scanner works here: scans answer empty lists and say so in the log. */
  scanner: Scanner | undefined;
  silenceTimeoutMs: number;
  features: readonly AgentFeature[];
  info: Omit<AgentInfo, 'scanner' | 'capabilities'>;
  /** Socket-table change signature that lets watch ticks skip unchanged scans (Linux); see WatchLoopDeps. */
  signature?: () => string | undefined;
}

/**
 * The protocol engine of the agent, with no process around it: frames in (`receive`), frames out
 * (`output`). Answers Ping and ScanRequest, runs one watch subscription at a time, routes reserved
 * types to features, and stops itself when the host has been silent for `silenceTimeoutMs`.
 * `stopped` resolves with the reason once everything it created is released. Scans run one at a time: a
 * ScanRequest arriving while one runs waits for the next, which answers every request of the same protocols
 * that waited for it (a flood of requests costs one scan each at most, never a scan per request at once).
 */
export class Agent {
  readonly #deps: AgentDeps;
  readonly #routes = new Map<string, AgentFeature>();
  #watch: WatchLoop | undefined;
  /** The scans running, and the protocol sets (bit0 tcp, bit1 udp) waiting for the next one. */
  #scans: Promise<void> | undefined;
  readonly #scansWaiting = new Set<number>();
  #silence: NodeJS.Timeout | undefined;
  #stopping: Promise<string> | undefined;
  #resolveStopped!: (reason: string) => void;
  /** Resolves with the stop reason after cleanup. */
  readonly stopped: Promise<string>;

  constructor(deps: AgentDeps) {
    this.#deps = deps;
    for (const f of deps.features) for (const t of f.types) this.#routes.set(t, f);
    this.stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
  }

  /** The AgentHello payload. */
  get info(): AgentInfo {
    const capabilities = ['watch', ...this.#deps.features.flatMap((f) => f.capabilities ?? [])];
    return { ...this.#deps.info, scanner: this.#deps.scanner?.backend ?? 'none', capabilities };
  }

  /** Says hello and arms the silence timer. */
  start(): void {
    this.#deps.output.send({ type: 'AgentHello', info: this.info });
    this.#silence = setTimeout(
      () => void this.stop(`host silent for ${this.#deps.silenceTimeoutMs} ms`),
      this.#deps.silenceTimeoutMs,
    );
    this.#log('info', 'agent', `started: pid ${this.#deps.info.pid}, scanner ${this.info.scanner}`);
    for (const f of this.#deps.features) {
      Promise.resolve(f.start?.(this.#context())).catch((err: Error) =>
        this.#log('error', `agent.${f.name}`, `start failed: ${err.message}`),
      );
    }
  }

  /** Any bytes from the host count as a sign of life. */
  heard(): void {
    this.#silence?.refresh();
  }

  /** Handles one decoded frame from the host. */
  receive(message: Message | UnknownMessage): void {
    if (this.#stopping) return;
    this.heard();
    switch (message.type) {
      case 'Ping':
        this.#deps.output.send({ type: 'Pong', value: message.value });
        return;
      case 'ScanRequest':
        this.#scansWaiting.add((message.tcp ? 1 : 0) | (message.udp ? 2 : 0));
        this.#scans ??= this.#runScans();
        return;
      case 'WatchRequest':
        this.#watch?.stop();
        this.#watch = undefined;
        if (message.intervalMs === 0) {
          this.#log('info', 'agent.watch', 'watch stopped by the host');
          return;
        }
        this.#watch = this.#startWatch(message.tcp, message.udp, message.intervalMs);
        this.#log(
          'info',
          'agent.watch',
          `watching${message.tcp ? ' tcp' : ''}${message.udp ? ' udp' : ''} every ${this.#watch.intervalMs} ms`,
        );
        return;
      case 'Shutdown':
        void this.stop('host asked to shut down');
        return;
      case 'Unknown':
        this.#log(
          'debug',
          'agent',
          `skipped unknown frame type 0x${message.typeByte.toString(16)} (${message.length} B)`,
        );
        return;
      default: {
        const feature = this.#routes.get(message.type);
        if (feature) {
          Promise.resolve(feature.handle(message, this.#context())).catch((err: Error) =>
            this.#log('error', `agent.${feature.name}`, `${message.type} failed: ${err.message}`),
          );
        } else {
          this.#log('debug', 'agent', `ignored ${message.type}: not a host-to-agent message`);
        }
      }
    }
  }

  /** Stops watching, releases features and the scanner; idempotent. Resolves with the first reason. */
  stop(reason: string): Promise<string> {
    if (this.#stopping) return this.#stopping;
    this.#stopping = (async () => {
      if (this.#silence) clearTimeout(this.#silence);
      this.#watch?.stop();
      this.#watch = undefined;
      this.#log('info', 'agent', `stopping: ${reason}`);
      for (const f of this.#deps.features) {
        try {
          await f.close();
        } catch (err) {
          this.#log('warn', `agent.${f.name}`, `close failed: ${(err as Error).message}`);
        }
      }
      this.#deps.scanner?.close?.();
      this.#resolveStopped(reason);
      return reason;
    })();
    return this.#stopping;
  }

  #startWatch(tcp: boolean, udp: boolean, intervalMs: number): WatchLoop {
    const scanner = this.#deps.scanner;
    return new WatchLoop({ tcp, udp }, intervalMs, {
      scan: (o) => (scanner ? scanner.scan(o) : Promise.resolve({ sockets: [], malformed: 0 })),
      send: (delta) => this.#deps.output.send(delta),
      whenWritable: () => this.#deps.output.whenDrained(),
      log: (level, message) => this.#log(level, 'agent.watch', message),
      signature: this.#deps.signature,
    });
  }

  /** Scans (and answers) the waiting protocol sets one after the other, each once the output can take it. */
  async #runScans(): Promise<void> {
    try {
      for (const flags of this.#scansWaiting) {
        this.#scansWaiting.delete(flags);
        await this.#deps.output.whenDrained();
        if (this.#stopping) break;
        await this.#scanOnce((flags & 1) !== 0, (flags & 2) !== 0);
      }
    } finally {
      this.#scansWaiting.clear();
      this.#scans = undefined;
    }
  }

  async #scanOnce(tcp: boolean, udp: boolean): Promise<void> {
    const scanner = this.#deps.scanner;
    if (!scanner) {
      this.#log('warn', 'agent.scan', 'no scanner works on this host (no /proc/net, ss or netstat): empty result');
      this.#deps.output.send({ type: 'ScanResponse', sockets: [] });
      return;
    }
    try {
      const result = await scanner.scan({ tcp, udp });
      if (this.#stopping) return;
      this.#deps.output.send({ type: 'ScanResponse', sockets: result.sockets });
    } catch (err) {
      // no error frame exists: an empty answer would read as "every port closed", so answer nothing
      this.#log('error', 'agent.scan', `scan failed, no ScanResponse sent: ${(err as Error).message}`);
    }
  }

  #context(): AgentContext {
    return {
      send: (m) => void this.#deps.output.send(m),
      log: this.#deps.log,
      congested: () => this.#deps.output.congested,
      socketsChanged: () => this.#watch?.rescanSoon(),
    };
  }

  #log(level: LogLevelName, target: string, message: string): void {
    this.#deps.log(level, target, message);
  }
}
