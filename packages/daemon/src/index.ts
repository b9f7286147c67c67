export { ApiError } from './api-error.ts';
export { API_VERSION, Daemon, type DaemonOptions, type HostView } from './daemon.ts';
export { acquireLock, DaemonRunningError, lockHolder } from './daemon-lock.ts';
export { DaemonLog, type LogRecord } from './daemon-log.ts';
export { type DaemonPaths, daemonPaths } from './daemon-paths.ts';
export { DesiredState } from './desired-state.ts';
export { HOST_SPEC_SCHEMA, type HostSpec, hostOptionsOf, parseHostSpec } from './host-spec.ts';
export { DEFAULT_TTL_SECONDS, LEASE_RANGE, type Lease, LeaseRegistry } from './lease-registry.ts';
export { type LookupAnswer, lookupService } from './service-lookup.ts';
