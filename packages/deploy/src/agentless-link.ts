import { EventEmitter } from 'node:events';
import type { AgentInfo, ListeningSocket, Message } from '@port-linker/proto';
import { diffScans, parseRemoteScanOutput, remoteScanScript, type ScanOptions } from '@port-linker/scanner';
import type { AgentLink } from './agent-link.ts';
import type { DeployLog } from './deploy-agent.ts';
import type { RemoteSession } from './remote-session.ts';

/** Floor of the agentless watch interval: each scan is an exec round trip and a remote shell. */
export const AGENTLESS_MIN_INTERVAL_MS = 1000;
/** Consecutive failed scans after which the link reports itself dead (the connection probably is). */
const MAX_FAILURES = 3;

/**
 * An AgentLink with no agent (mode `none`): the scanner's shell script runs over exec, and the same
 * diff logic turns its output into ScanResponse / ScanDelta messages, so the host code is identical
 * for every mode. Ping is answered locally. Watch scans run every max(intervalMs, `minIntervalMs`).
 */
export class AgentlessLink extends EventEmitter implements AgentLink {
  readonly mode = 'none' as const;
  readonly info: AgentInfo;
  readonly #session: RemoteSession;
  readonly #log: DeployLog;
  readonly #minIntervalMs: number;
  #watchGeneration = 0;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #ended: string | undefined;

  constructor(session: RemoteSession, platform: string, options: { minIntervalMs?: number; log: DeployLog }) {
    super();
    this.#session = session;
    this.#log = options.log;
    this.#minIntervalMs = options.minIntervalMs ?? AGENTLESS_MIN_INTERVAL_MS;
    const dash = platform.indexOf('-');
    this.info = {
      version: 'agentless',
      platform: dash > 0 ? platform.slice(0, dash) : platform,
      arch: dash > 0 ? platform.slice(dash + 1) : 'unknown',
      pid: 0,
      scanner: 'exec',
      capabilities: ['watch'],
    };
  }

  /** Agentless mode carries no data traffic, so it is never congested. */
  readonly congested = false;

  send(message: Message): void {
    if (this.#ended) return;
    switch (message.type) {
      case 'Ping':
        queueMicrotask(() => this.#emit({ type: 'Pong', value: message.value }));
        return;
      case 'ScanRequest':
        this.#scan({ tcp: message.tcp, udp: message.udp }).then(
          (sockets) => sockets && this.#emit({ type: 'ScanResponse', sockets }),
          () => {},
        );
        return;
      case 'WatchRequest':
        this.#stopWatch();
        if (message.intervalMs > 0) {
          const interval = Math.max(this.#minIntervalMs, message.intervalMs);
          this.#log('info', `agentless watch every ${interval} ms over exec (no agent on the remote)`);
          void this.#watch({ tcp: message.tcp, udp: message.udp }, interval, ++this.#watchGeneration);
        }
        return;
      case 'Shutdown':
        void this.close();
        return;
      default:
        this.#log('debug', `agentless mode ignores ${message.type}`);
    }
  }

  async close(): Promise<void> {
    this.#end('closed by the host');
  }

  async #watch(options: ScanOptions, intervalMs: number, generation: number): Promise<void> {
    let sent: ListeningSocket[] | undefined;
    const live = () => !this.#ended && generation === this.#watchGeneration;
    while (live()) {
      const sockets = await this.#scan(options).catch(() => undefined);
      if (!live()) return;
      if (sockets) {
        if (!sent) this.#emit({ type: 'ScanDelta', full: true, added: sockets, removed: [] });
        else {
          const d = diffScans(sent, sockets);
          if (d.added.length > 0 || d.removed.length > 0) {
            this.#emit({ type: 'ScanDelta', full: false, added: d.added, removed: d.removed });
          }
        }
        sent = sockets;
      }
      await new Promise<void>((resolve) => {
        this.#timer = setTimeout(resolve, intervalMs);
      });
    }
  }

  /** One scan over exec; undefined after a failure (logged; the link ends after a streak). */
  async #scan(options: ScanOptions): Promise<ListeningSocket[] | undefined> {
    try {
      const r = await this.#session.exec('sh -s', { stdin: remoteScanScript(options), timeoutMs: 15_000 });
      const text = r.stdout.toString('utf8');
      if (r.code !== 0 && text.trim() === '') {
        throw new Error(`scan script exited ${r.code}: ${r.stderr.trim().slice(0, 200)}`);
      }
      const result = parseRemoteScanOutput(text);
      if (result.malformed > 0) this.#log('debug', `agentless scan skipped ${result.malformed} malformed lines`);
      this.#failures = 0;
      return result.sockets;
    } catch (err) {
      this.#failures++;
      this.#log('warn', `agentless scan failed (${this.#failures} in a row): ${(err as Error).message}`);
      if (this.#failures >= MAX_FAILURES) {
        this.#end(`agentless scanning failed ${this.#failures} times: ${(err as Error).message}`);
      }
      return undefined;
    }
  }

  #emit(message: Message): void {
    if (!this.#ended) this.emit('message', message);
  }

  #stopWatch(): void {
    this.#watchGeneration++;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #end(reason: string): void {
    if (this.#ended) return;
    this.#ended = reason;
    this.#stopWatch();
    this.emit('exit', reason);
  }
}
