export { assertHarnessAvailable, harnessUnavailableReason } from './preflight.ts';
export { descendants, killTree } from './process-tree.ts';
export { RemoteHost, type RemoteHostOptions, type Service, type ServiceMode, serveLocally } from './remote-host.ts';
export { type RunResult, run, waitFor } from './run.ts';
