// Entry of agent-quic.cjs (`node scripts/bundle.mjs quic`): the agent's QUIC side, loaded by quic-loader.ts only
// when the host asked for quic. Its native addon is loaded from the path set in a global before the require.
export { listenQuic } from '@port-linker/transport/quic';
