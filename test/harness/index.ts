export { assertHarnessAvailable, harnessUnavailableReason } from './preflight.ts';
export { descendants, killTree } from './process-tree.ts';
export { RemoteHost, type RemoteHostOptions, type Service } from './remote-host.ts';
export { type RunResult, run, waitFor } from './run.ts';
