export {
  echoRoundTrip,
  type ProbeConnection,
  type ProbeLink,
  type ProbeResult,
  type ProbeTimes,
  probeDataPath,
} from './data-path-probe.ts';
export { connectDirect, type DirectTarget } from './direct-client.ts';
export { type DirectServer, startDirectServer } from './direct-server.ts';
export { DEFAULT_STREAM_WINDOW, MuxSession, type MuxSessionEvents } from './mux-session.ts';
export { MuxStream } from './mux-stream.ts';
