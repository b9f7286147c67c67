export { type AgentArgs, type AgentQuic, agentArgs } from './agent-args.ts';
export {
  AGENT_PLATFORMS,
  type AgentArtifact,
  AgentArtifacts,
  QUIC_PLATFORMS,
  type QuicArtifacts,
} from './agent-artifacts.ts';
export { type AgentLink, type LinkTiming, StdioAgentLink } from './agent-link.ts';
export { AGENTLESS_MIN_INTERVAL_MS, AgentlessLink } from './agentless-link.ts';
export { type AgentMode, type DeployLog, type DeployOptions, type DeployResult, deployAgent } from './deploy-agent.ts';
export { DeployError, DeployStage } from './errors.ts';
export { type ProbeOutcome, probeAndStart, type StartedAgent } from './probe-channel.ts';
export { loadQuicConnector } from './quic-connector.ts';
export {
  type InstallResult,
  installArtifact,
  installScript,
  KEEP_QUIC_FILES,
  KEEP_VERSIONS,
  type UploadVia,
} from './remote-install.ts';
export {
  type CacheState,
  MIN_NODE_MAJOR,
  type ProbeRequest,
  parseProbeOutput,
  platformOf,
  probeRemote,
  probeScript,
  QUIC_MIN_GLIBC,
  type RemoteFacts,
} from './remote-probe.ts';
export type { ExecChannel, ExecResult, RemoteSession } from './remote-session.ts';
export { shellQuote } from './shell-quote.ts';
export { DEFAULT_SILENCE_TIMEOUT_MS, type StartAgentOptions, startAgent } from './start-agent.ts';
