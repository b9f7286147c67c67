// QUIC entry point (`@port-linker/transport/quic`): kept apart so importing the package never loads the native addon.
export { certificateFingerprint, generateQuicIdentity, type QuicIdentity } from './quic-identity.ts';
export {
  connectQuicTransport,
  lightenConnection,
  listenQuic,
  QUIC_ALPN,
  type QuicConnectOptions,
  QuicTransportServer,
  type QuicTuning,
  quicConnector,
} from './quic-transport.ts';
