export {
  findSsh,
  type MasterEvents,
  type MasterOptions,
  type MasterTarget,
  masterArgs,
  masterTarget,
  OpenSshMaster,
} from './master-process.ts';
export { MuxClient, type MuxForward, MuxRefused } from './mux-client.ts';
export { longRoundTrip, type OpenSshMerit, opensshMerit, type PathTimes } from './plane-merit.ts';
