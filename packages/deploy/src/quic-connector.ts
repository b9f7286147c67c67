import type { QuicConnector } from '@port-linker/transport';

/**
 * The host's QUIC side for `startAgent({ quic })`, connecting to the remote at `address` (the IP the SSH
 * connection reached). Imports `@port-linker/transport/quic` (the native addon, x509) only when called.
 */
export async function loadQuicConnector(address: string): Promise<QuicConnector> {
  const { quicConnector } = await import('@port-linker/transport/quic');
  return quicConnector(address);
}
