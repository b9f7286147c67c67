import type { SessionStatus } from '@port-linker/engine';
import type { StatusView } from './status-view.ts';

/**
 * One status line for several hosts: each host's session sets its own part, and the view shows them side by side
 * (`a: connected to dev@a:22 · b: disconnected: retrying in 4 s`). With one host it is that host's line as is.
 */
export class HostStatusBoard {
  readonly #view: StatusView;
  readonly #order: string[];
  readonly #status = new Map<string, { text: string; until?: number }>();
  readonly #agent = new Map<string, string>();

  constructor(view: StatusView, hosts: readonly string[]) {
    this.#view = view;
    this.#order = [...hosts];
  }

  /** The status handle of one host. */
  forHost(host: string): SessionStatus {
    return {
      setStatus: (text, until) => {
        this.#status.set(host, until === undefined ? { text } : { text, until });
        this.#render();
      },
      setAgent: (text) => {
        this.#agent.set(host, text);
        this.#render();
      },
    };
  }

  #render(): void {
    if (this.#order.length === 1) {
      const host = this.#order[0] ?? '';
      const s = this.#status.get(host);
      this.#view.setAgent(this.#agent.get(host) ?? '');
      if (s) this.#view.setStatus(s.text, s.until);
      return;
    }
    const parts = this.#order.map((h) => `${h}: ${this.#status.get(h)?.text ?? 'starting'}`);
    const until = [...this.#status.values()].find((s) => s.until !== undefined)?.until;
    this.#view.setStatus(parts.join(' · '), until);
  }
}
