export {
  ATTEMPT_TIMEOUT_MS,
  AUTO_ORDER,
  type NegotiationPeer,
  type NegotiationResult,
  negotiateTransport,
  type QuicConnector,
  type TransportPreference,
  transportPlan,
  withTimeout,
} from './negotiate.ts';
export {
  acceptFrame,
  connectTcpTransport,
  readExactly,
  TCP_AUTH_TIMEOUT_MS,
  TCP_SECRET_BYTES,
  TcpTransportServer,
} from './tcp-transport.ts';
export { StreamTransport, type Transport, type TransportStats } from './transport.ts';
export { TransportError } from './transport-error.ts';
