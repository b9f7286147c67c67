export { Agent, type AgentDeps, type AgentOutput } from './agent.ts';
export { type AgentContext, type AgentFeature, defaultFeatures, reservedFeature } from './agent-feature.ts';
export { type AgentOptions, AgentUsageError, DEFAULT_AGENT_OPTIONS, parseAgentArgs } from './agent-options.ts';
export { AGENT_VERSION, type AgentIo, runAgent } from './agent-process.ts';
export { FrameSink } from './frame-sink.ts';
export { LOG_BATCH_BYTES, LogBuffer } from './log-buffer.ts';
export { WATCH_INTERVAL_BOUNDS, WatchLoop, type WatchLoopDeps } from './watch-loop.ts';
