import type { Message } from '@port-linker/proto';
import type { AgentOutput } from './agent.ts';
import type { FrameSink } from './frame-sink.ts';

/**
 * The agent's output, re-pointable: stdio's FrameSink at start, the negotiated transport's sink
 * once the host accepted one, stdio again if that transport breaks. Waiters on `whenDrained` hear
 * from the sink that was current when they asked, or from the switch.
 */
export class OutputSwitch implements AgentOutput {
  readonly stdio: FrameSink;
  #current: FrameSink;
  #switchWaiters: Array<() => void> = [];

  constructor(stdio: FrameSink) {
    this.stdio = stdio;
    this.#current = stdio;
  }

  /** The sink frames go to now. */
  get current(): FrameSink {
    return this.#current;
  }

  /** Sends frames to `sink` from now on (stdio when undefined). */
  use(sink: FrameSink | undefined): void {
    this.#current = sink ?? this.stdio;
    for (const w of this.#switchWaiters.splice(0)) w();
  }

  send(message: Message): boolean {
    return this.#current.send(message);
  }

  get congested(): boolean {
    return this.#current.congested;
  }

  whenDrained(): Promise<void> {
    if (!this.#current.congested) return Promise.resolve();
    return Promise.race([
      this.#current.whenDrained(),
      new Promise<void>((resolve) => this.#switchWaiters.push(resolve)),
    ]);
  }
}
