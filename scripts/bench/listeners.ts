import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RemoteHost } from '../../test/harness/index.ts';
import { stopChild, track } from './cleanup.ts';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'listeners.mjs');

/** A helper process in the namespace that opens and closes echo listeners on command. */
export class Listeners {
  readonly #child: ChildProcess;
  #buf = '';
  #waiters: Array<(line: string) => void> = [];

  constructor(host: RemoteHost) {
    this.#child = track(host.spawn([process.execPath, SCRIPT]));
    this.#child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.#buf += d;
      let nl = this.#buf.indexOf('\n');
      while (nl >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        this.#waiters.shift()?.(line);
        nl = this.#buf.indexOf('\n');
      }
    });
  }

  #command(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiters.push((reply) => (reply.startsWith('error') ? reject(new Error(reply)) : resolve()));
      this.#child.stdin?.write(`${line}\n`);
    });
  }

  /** Opens `count` echo listeners on 127.0.0.1 from `port`; resolves (performance.now()) once all listen. */
  async listen(port: number, count = 1): Promise<number> {
    await this.#command(`listen ${port} ${count}`);
    return performance.now();
  }

  /** Closes listeners opened by listen(). */
  async close(port: number, count = 1): Promise<void> {
    await this.#command(`close ${port} ${count}`);
  }

  /** Ends the helper. */
  stop(): Promise<void> {
    return stopChild(this.#child, 'SIGKILL');
  }
}
