import { autoSpec, type ForwardSpec, type PortFilter } from '@port-linker/forward';
import { type ListeningSocket, type MessageOf, socketKey } from '@port-linker/proto';
import { groupPorts } from '@port-linker/scanner';

/**
 * The host's copy of the remote's listening sockets, kept equal to the agent's by applying its
 * ScanDelta pushes (a `full` delta replaces everything: first push, and after every reconnect).
 */
export class RemotePorts {
  readonly #sockets = new Map<string, ListeningSocket>();
  readonly #explained = new Set<string>();

  /** Applies one push from the agent. */
  apply(delta: MessageOf<'ScanDelta'>): void {
    if (delta.full) this.#sockets.clear();
    for (const s of delta.removed) this.#sockets.delete(socketKey(s));
    for (const s of delta.added) this.#sockets.set(socketKey(s), s);
  }

  /** Number of remote sockets known. */
  get size(): number {
    return this.#sockets.size;
  }

  /**
   * The forwards the remote's ports call for under `filter` and `protocols`, plus a one-time note
   * for each port that listens only on a specific non-loopback address (not forwardable).
   */
  desired(filter: PortFilter, protocols: { tcp: boolean; udp: boolean }): { specs: ForwardSpec[]; notes: string[] } {
    const specs: ForwardSpec[] = [];
    const notes: string[] = [];
    for (const g of groupPorts([...this.#sockets.values()])) {
      if (!(g.protocol === 'tcp' ? protocols.tcp : protocols.udp)) continue;
      if (!filter.accepts(g.port)) continue;
      const spec = autoSpec(g);
      if (spec) specs.push(spec);
      else {
        const id = `${g.protocol}/${g.port}`;
        if (!this.#explained.has(id)) {
          this.#explained.add(id);
          notes.push(
            `remote ${g.protocol} port ${g.port} listens only on ${g.addresses.join(', ')}: not forwardable (bind it to 0.0.0.0 or 127.0.0.1 on the remote)`,
          );
        }
      }
    }
    return { specs, notes };
  }
}
