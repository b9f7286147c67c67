import type { StickyPorts } from './sticky-ports.ts';

/**
 * `--bind-address auto`: each host gets a loopback address of its own (127.0.0.2, 127.0.0.3, ...), remembered per
 * host in the state dir, so every host keeps its real port numbers. Linux routes all of 127.0.0.0/8 to `lo`; other
 * systems have only 127.0.0.1 unless configured, so auto is refused there.
 */
export class LoopbackAddresses {
  readonly #store: StickyPorts;

  constructor(store: StickyPorts) {
    this.#store = store;
  }

  /** Whether this platform can bind 127.0.0.x without set-up. */
  static supported(platform: NodeJS.Platform = process.platform): boolean {
    return platform === 'linux';
  }

  /** The address of `host`: the one it had, else the lowest free 127.0.0.N (N >= 2). */
  addressOf(host: string): string {
    let n = this.#store.get(host);
    if (n === undefined) {
      const used = new Set(this.#store.values());
      n = 2;
      while (used.has(n) && n < 254) n++;
      if (used.has(n)) throw new Error('no free loopback address left in 127.0.0.2-254 (remove addresses.json)');
      this.#store.set(host, n);
    }
    return `127.0.0.${n}`;
  }

  flush(): void {
    this.#store.flush();
  }
}
