export { describeEvent } from './describe-event.ts';
export { Engine, type EngineOptions, type HostOutcome, type HostSnapshot, type HostState } from './engine.ts';
export {
  type EngineEvent,
  EVENT_SCHEMA_VERSION,
  type EventFields,
  type EventName,
  type HostEmitter,
  makeEvent,
} from './events.ts';
export type { HostOptions } from './host-options.ts';
export type { Level, SessionLog, SessionStatus } from './host-session.ts';
export { LoopbackAddresses } from './loopback-addresses.ts';
export type { RemoteForwardInfo } from './remote-forwards.ts';
export { ensureStateDir, stateDir } from './state-dir.ts';
export { type PortMemory, StickyPorts } from './sticky-ports.ts';
export { type Wake, type WakeClock, WakeDetector } from './wake-detector.ts';
