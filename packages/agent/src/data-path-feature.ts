import type { Message } from '@port-linker/proto';
import type { AgentContext, AgentFeature } from './agent-feature.ts';

/** The listener a data path needs (startDirectServer of `@port-linker/datapath`). */
export interface DataListener {
  port: number;
  /** A loopback TCP echo: the host times a round trip through each data path against it. */
  echoPort: number;
  key: Uint8Array;
  close(): void;
}

/** Binds the data path's listener on an address of this machine. */
export type DataListenerStarter = (address: string, log: (msg: string) => void) => Promise<DataListener>;

/**
 * The direct data path, agent side: on DataPathRequest, a TLS listener (fresh pre-shared key) on the address the
 * SSH client reached (SSH_CONNECTION's third field, so nothing listens on other interfaces), answered with
 * DataPathOffer{port, key} over the SSH-carried link, or port 0 and the reason. One listener per agent; a second
 * request gets the same offer.
 */
export class DataPathFeature implements AgentFeature {
  readonly name = 'datapath';
  readonly types = ['DataPathRequest'] as const satisfies readonly Message['type'][];
  readonly capabilities = ['datapath'];
  readonly #start: DataListenerStarter;
  readonly #sshConnection: string | undefined;
  #listener: Promise<DataListener> | undefined;
  #closed = false;

  constructor(start: DataListenerStarter, sshConnection = process.env.SSH_CONNECTION) {
    this.#start = start;
    this.#sshConnection = sshConnection;
  }

  async handle(_message: Message, context: AgentContext): Promise<void> {
    const address = this.#sshConnection?.trim().split(/\s+/)[2];
    if (!address) {
      context.send({
        type: 'DataPathOffer',
        port: 0,
        key: new Uint8Array(0),
        reason: 'SSH_CONNECTION is not set',
        echoPort: 0,
      });
      return;
    }
    this.#listener ??= this.#start(address, (msg) => context.log('info', 'agent.datapath', msg));
    try {
      const l = await this.#listener;
      if (this.#closed) {
        l.close();
        return;
      }
      context.log('info', 'agent.datapath', `listening on ${address}:${l.port}`);
      context.send({ type: 'DataPathOffer', port: l.port, echoPort: l.echoPort, key: l.key, reason: '' });
      context.socketsChanged?.();
    } catch (err) {
      this.#listener = undefined;
      const reason = `cannot listen on ${address}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      context.send({ type: 'DataPathOffer', port: 0, echoPort: 0, key: new Uint8Array(0), reason });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const l = await this.#listener?.catch(() => undefined);
    l?.close();
  }
}
