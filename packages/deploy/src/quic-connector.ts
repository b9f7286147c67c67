import type { QuicConnector } from '@port-linker/transport';

/**
 * The host's QUIC side for `startAgent({ quic })`, connecting to the remote at `address` (the IP the SSH
 * connection reached). Imports `@port-linker/transport/quic` (the native addon, x509) only when called. The
 * standalone executables do not carry the addon (a SEA cannot load one from its own bytes): that is said plainly.
 */
export async function loadQuicConnector(address: string): Promise<QuicConnector> {
  const standalone = (globalThis as Record<symbol, unknown>)[Symbol.for('port-linker.standalone-assets')];
  if (typeof standalone === 'function')
    throw new Error(
      'the standalone executable has no QUIC (its native addon cannot load from a single executable): use --transport tcp, or the npm package',
    );
  const { quicConnector } = await import('@port-linker/transport/quic');
  return quicConnector(address);
}
