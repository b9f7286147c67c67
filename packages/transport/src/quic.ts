// QUIC entry point (`@port-linker/transport/quic`): kept apart so importing the package never loads the native addon.

export { batchConnection, isBatched, lightenConnection, QUIC_FAST_PATH_FOR } from './quic-fast-path.ts';
export { certificateFingerprint, generateQuicIdentity, type QuicIdentity } from './quic-identity.ts';
export {
  connectQuicTransport,
  hostPackets,
  listenQuic,
  QUIC_AGENT_PACKETS,
  QUIC_ALPN,
  QUIC_DEFAULT_TUNING,
  type QuicConnectOptions,
  QuicTransportServer,
  type QuicTuning,
  quicConnector,
} from './quic-transport.ts';
