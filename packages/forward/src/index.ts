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
export {
  autoSpec,
  dialAddress,
  type ForwardParseOptions,
  type ForwardSpec,
  parseDynamicForward,
  parseLocalForward,
  type RemotePortGroup,
} from './forward-spec.ts';
export { listenUnix, type UnixBindOptions } from './local-bind.ts';
export { type ForwardPlane, type PlaneListener, planeEligible } from './plane-forward.ts';
export {
  ON_FORWARD,
  type OnForward,
  type PortAttribute,
  type PortAttributeRule,
  PortAttributes,
} from './port-attributes.ts';
export { DEFAULT_EXCLUDES, PortFilter, type PortRange, parsePortList } from './port-filter.ts';
export {
  describeRemoteTarget,
  parseRemoteForward,
  type RemoteForwardSpec,
  type RemoteForwardTarget,
} from './remote-forward-spec.ts';
export { type SocksDial, SocksError, type SocksRequestInfo, serveSocks } from './socks-server.ts';
export { type Dialer, type ForwardStats, pipeBoth, type UnixDialer } from './tcp-forward.ts';
export { bindUdp, UdpForward, type UdpSend, type UdpStats } from './udp-forward.ts';
