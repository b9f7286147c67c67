import { EventEmitter } from 'node:events';
import {
  type AgentInfo,
  encodeMessage,
  type Message,
  MessageDecoder,
  type TransportEntry,
  type TransportName,
} from '@port-linker/proto';
import type { Transport } from '@port-linker/transport';
import type { AgentMode, DeployLog } from './deploy-agent.ts';
import type { ExecChannel } from './remote-session.ts';

/**
 * A running agent, whatever the mode: frames in and out, typed. Events:
 * `message` (m: Message) for everything but LogBatch, `log` (e: LogEvent) for each agent log
 * record, `exit` (reason: string) once, when the agent is gone for any reason.
 */
export interface AgentLink extends EventEmitter {
  /** The agent's AgentHello (synthesized in agentless mode); undefined before it arrived. */
  readonly info: AgentInfo | undefined;
  readonly mode: AgentMode;
  /** Which channel carries the frames (stdio when absent: the exec channel, or agentless exec). */
  readonly transport?: TransportName;
  /** Ports the agent itself listens on (its tcp/quic transport offers): never to be mirrored. */
  readonly ownPorts?: readonly number[];
  /** True while more than CONGESTED_BYTES wait to go out: droppable traffic (UDP) should be dropped. */
  readonly congested: boolean;
  /** Sends one message; dropped (logged at debug) after the link ended. */
  send(message: Message): void;
  /** Asks the agent to stop (Shutdown, then stdin EOF), waits briefly for it, closes the channel. */
  close(): Promise<void>;
}

/** Timing of the host side of the liveness contract. */
export interface LinkTiming {
  /** The agent exits after this long without a frame; passed to it as `--silence-timeout-ms`. */
  silenceTimeoutMs: number;
  /** The host pings this often, so the agent never hits its silence timeout while the host lives. */
  pingIntervalMs: number;
}

/** Outbound bytes queued past which the link counts as congested (UDP floods are dropped, not buffered). */
export const CONGESTED_BYTES = 1024 * 1024;

/** Grace period for the agent to exit by itself in `close()`. */
const CLOSE_GRACE_MS = 2000;
/** Bytes of agent stderr kept for the exit reason (it prints one line only when it crashes). */
const STDERR_KEEP = 2048;
/** Most bytes of shell noise skipped before the AgentHello frame. */
const MAX_PREAMBLE = 64 * 1024;

/**
 * Where the AgentHello frame starts in `bytes`: type 0x0a, a 4-byte length, then `{"version"`.
 * A login shell that prints from ~/.bashrc on non-interactive sessions puts text before it.
 */
export function findHello(bytes: Uint8Array): number {
  const tail = [0x7b, 0x22, 0x76, 0x65, 0x72]; // {"ver
  for (let i = 0; i + 10 <= bytes.length; i++) {
    if (bytes[i] !== 0x0a) continue;
    if (tail.every((b, k) => bytes[i + 5 + k] === b)) return i;
  }
  return -1;
}

/**
 * The link to an agent process over an SSH exec channel (modes `node` and `binary`). Pings every
 * `pingIntervalMs`; declares the agent dead when nothing arrived for `silenceTimeoutMs` (a hung
 * remote or a black-holed network), the same bound the agent applies to the host.
 */
export class StdioAgentLink extends EventEmitter implements AgentLink {
  readonly mode: AgentMode;
  /** Resolves on AgentHello; rejects if the agent ends first or speaks garbage. */
  readonly ready: Promise<AgentInfo>;
  #info: AgentInfo | undefined;
  readonly #channel: ExecChannel;
  readonly #timing: LinkTiming;
  readonly #log: DeployLog;
  readonly #decoder = new MessageDecoder();
  #lastHeard = performance.now();
  #pinger: NodeJS.Timeout;
  #seq = 0n;
  #stderr = '';
  #preamble: Buffer | undefined = Buffer.alloc(0);
  #ended: string | undefined;
  #settleReady!: (err?: Error) => void;
  #transport: Transport | undefined;
  #closing = false;
  #offer: TransportEntry[] | undefined;
  #offerWaiters: Array<(entries: TransportEntry[] | undefined) => void> = [];

  constructor(channel: ExecChannel, mode: AgentMode, timing: LinkTiming, log: DeployLog) {
    super();
    this.mode = mode;
    this.#channel = channel;
    this.#timing = timing;
    this.#log = log;
    this.ready = new Promise<AgentInfo>((resolve, reject) => {
      this.#settleReady = (err) => (err ? reject(err) : this.#info && resolve(this.#info));
    });
    this.ready.catch(() => {}); // observed by startAgent; never an unhandled rejection
    channel.stdout.on('data', (chunk: Buffer) => this.#onData(chunk));
    channel.stderr.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-STDERR_KEEP);
    });
    channel.stdin.on('error', (err: Error) => this.#log('debug', `agent stdin: ${err.message}`));
    channel.exit.then(
      ({ code, signal }) => {
        const tail = this.#stderr.trim().split('\n').pop();
        this.#end(`agent exited (code ${code}${signal ? `, signal ${signal}` : ''})${tail ? `: ${tail}` : ''}`);
      },
      (err: Error) => this.#end(`agent channel failed: ${err.message}`),
    );
    this.#pinger = setInterval(() => this.#tick(), timing.pingIntervalMs);
    this.#pinger.unref();
  }

  /** The AgentHello info, once it arrived. */
  get info(): AgentInfo | undefined {
    return this.#info;
  }

  /** Whether the link ended, and why. */
  get endReason(): string | undefined {
    return this.#ended;
  }

  get congested(): boolean {
    const queued = this.#transport ? this.#transport.bufferedBytes : this.#channel.stdin.writableLength;
    return queued > (this.#transport?.congestionBytes ?? CONGESTED_BYTES);
  }

  /** The channel carrying frames now. */
  get transport(): TransportName {
    return this.#transport?.kind ?? 'stdio';
  }

  /** Ports of the agent's own transport listeners (from its offer). */
  get ownPorts(): number[] {
    return (this.#offer ?? []).flatMap((e) => (e.kind === 'tcp' || e.kind === 'quic' ? [e.port] : []));
  }

  /** The agent's TransportOffer entries: resolves when it arrives, or with undefined after `timeoutMs` or the end. */
  offer(timeoutMs: number): Promise<TransportEntry[] | undefined> {
    if (this.#offer || this.#ended) return Promise.resolve(this.#offer);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.#offerWaiters.push((entries) => {
        clearTimeout(timer);
        resolve(entries);
      });
    });
  }

  /** Sends over the exec channel whatever transport carries frames (negotiation messages). */
  sendControl(message: Message): void {
    if (!this.#ended) this.#channel.stdin.write(encodeMessage(message));
  }

  /**
   * Frames travel over `transport` from now on, both ways; the exec channel stays open as the
   * agent's lifeline and still delivers whatever the agent sent on it before switching. When the
   * transport breaks the link ends (the supervisor restarts the agent, which renegotiates).
   */
  useTransport(transport: Transport): void {
    if (this.#ended) {
      transport.close('the agent link ended');
      return;
    }
    const decoder = new MessageDecoder();
    transport.on('data', (chunk: Uint8Array) => {
      this.#lastHeard = performance.now();
      this.#deliver(decoder, chunk);
    });
    transport.once('close', (reason: string) => {
      if (!this.#closing) this.#end(`${transport.kind} transport lost: ${reason}`);
    });
    this.#transport = transport;
  }

  send(message: Message): void {
    if (this.#ended) {
      this.#log('debug', `dropped ${message.type}: the agent link ended (${this.#ended})`);
      return;
    }
    const frame = encodeMessage(message);
    if (this.#transport) this.#transport.send(frame);
    else this.#channel.stdin.write(frame);
  }

  async close(): Promise<void> {
    if (this.#ended) return;
    this.send({ type: 'Shutdown' });
    this.#closing = true;
    this.#channel.stdin.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#channel.exit.catch(() => undefined),
      new Promise((resolve) => {
        timer = setTimeout(resolve, CLOSE_GRACE_MS);
      }),
    ]);
    clearTimeout(timer);
    this.#end('closed by the host');
  }

  #onData(data: Buffer): void {
    this.#lastHeard = performance.now();
    let chunk = data;
    if (this.#preamble) {
      const seen = Buffer.concat([this.#preamble, data]);
      const at = findHello(seen);
      if (at < 0) {
        if (seen.byteLength > MAX_PREAMBLE) this.#end(`no AgentHello in the first ${seen.byteLength} bytes of output`);
        else this.#preamble = seen;
        return;
      }
      if (at > 0) {
        const noise = seen.subarray(0, Math.min(at, 120)).toString('utf8').replace(/\s+/g, ' ').trim();
        this.#log('warn', `skipped ${at} bytes the remote shell printed before the agent (~/.bashrc?): "${noise}"`);
      }
      this.#preamble = undefined;
      chunk = seen.subarray(at);
    }
    this.#deliver(this.#decoder, chunk);
  }

  #deliver(decoder: MessageDecoder, chunk: Uint8Array): void {
    let messages: ReturnType<MessageDecoder['push']>;
    try {
      messages = decoder.push(chunk);
    } catch (err) {
      this.#end(`agent sent a malformed frame: ${(err as Error).message}`);
      return;
    }
    for (const m of messages) {
      if (this.#ended) return;
      switch (m.type) {
        case 'Unknown':
          this.#log('debug', `skipped unknown frame type 0x${m.typeByte.toString(16)} from the agent`);
          break;
        case 'LogBatch':
          for (const e of m.events) this.emit('log', e);
          break;
        case 'AgentHello':
          this.#info = m.info;
          this.#settleReady();
          this.emit('message', m);
          break;
        case 'TransportOffer':
          this.#offer = m.entries;
          for (const w of this.#offerWaiters.splice(0)) w(m.entries);
          break;
        case 'TransportAccept':
          break;
        default:
          this.emit('message', m);
      }
    }
  }

  #tick(): void {
    const silent = performance.now() - this.#lastHeard;
    if (silent > this.#timing.silenceTimeoutMs) {
      this.#end(`agent silent for ${Math.round(silent)} ms (limit ${this.#timing.silenceTimeoutMs} ms)`);
      return;
    }
    this.send({ type: 'Ping', value: this.#seq++ });
  }

  #end(reason: string): void {
    if (this.#ended) return;
    this.#ended = reason;
    clearInterval(this.#pinger);
    this.#settleReady(new Error(reason));
    for (const w of this.#offerWaiters.splice(0)) w(undefined);
    this.#transport?.close(reason);
    this.#channel.close();
    this.emit('exit', reason);
  }
}
