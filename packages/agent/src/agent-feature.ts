import { startDirectServer } from '@port-linker/datapath';
import type { LogLevelName, Message } from '@port-linker/proto';
import { DataPathFeature } from './data-path-feature.ts';
import { type QuicLoader, TransportFeature, type TransportSwitch } from './transport-feature.ts';
import { UdpRelay } from './udp-relay.ts';

/** What a feature may use of the agent: send frames, log, and see whether the host link is congested. */
export interface AgentContext {
  send(message: Message): void;
  log(level: LogLevelName, target: string, message: string): void;
  /** True while stdout is congested: droppable traffic (UDP datagrams) should be dropped, not queued. */
  congested?(): boolean;
  /**
   * The feature opened or closed a socket of its own (a UDP flow, a transport listener). The watch loop then rescans
   * at its next tick: the kernel counters it watches could have netted this change out against a service's (a flow
   * closing as a restarted service binds), which would leave that service unseen until the forced rescan.
   */
  socketsChanged?(): void;
}

/**
 * A pluggable part of the agent (UDP forwarding, transport negotiation...): it owns a set of message
 * types, and whatever it created is released in `close()`, which the agent awaits before exiting.
 */
export interface AgentFeature {
  readonly name: string;
  /** Message types routed to this feature. */
  readonly types: readonly Message['type'][];
  /** Capabilities advertised in AgentHello when this feature is on. */
  readonly capabilities?: readonly string[];
  /** Called once after AgentHello went out (the transport feature sends its offer here). */
  start?(context: AgentContext): void | Promise<void>;
  handle(message: Message, context: AgentContext): void | Promise<void>;
  close(): void | Promise<void>;
}

/**
 * Placeholder for the message types of a feature this agent leaves out (e.g. UDP forwarding, transport offers):
 * logged at debug and ignored, so a newer host talking to this agent degrades instead of failing.
 */
export function reservedFeature(name: string, types: readonly Message['type'][]): AgentFeature {
  let seen = 0;
  return {
    name,
    types,
    handle(message, context) {
      seen++;
      if (seen <= 10 || seen % 1000 === 0) {
        context.log('debug', `agent.${name}`, `${message.type} ignored: ${name} is not implemented (${seen} so far)`);
      }
    },
    close() {},
  };
}

/**
 * The features this agent ships: UDP forwarding, transport negotiation (stdio only without a switch), and the direct
 * data path.
 */
export function defaultFeatures(transports?: TransportSwitch, quic?: QuicLoader): AgentFeature[] {
  return [new UdpRelay(), new TransportFeature(transports, { quic }), new DataPathFeature(startDirectServer)];
}
