export { BindError, UsageError } from './errors.ts';
export {
  type ConflictEvent,
  type ConflictPolicy,
  type ForwardAddedEvent,
  type ForwardInfo,
  ForwardManager,
  type ForwardManagerEvents,
  type ForwardManagerOptions,
  type ForwardRemovedEvent,
  type PortKiller,
} from './forward-manager.ts';
export { autoSpec, dialAddress, type ForwardSpec, parseLocalForward, type RemotePortGroup } from './forward-spec.ts';
export {
  ON_FORWARD,
  type OnForward,
  type PortAttribute,
  type PortAttributeRule,
  PortAttributes,
} from './port-attributes.ts';
export { DEFAULT_EXCLUDES, PortFilter, type PortRange, parsePortList } from './port-filter.ts';
export { type Dialer, type ForwardStats, pipeBoth } from './tcp-forward.ts';
export { bindUdp, UdpForward, type UdpSend, type UdpStats } from './udp-forward.ts';
