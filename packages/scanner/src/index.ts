export {
  CommandScanner,
  type CommandScannerOptions,
  type NetstatDialect,
  netstatDialect,
  parsePsComm,
  toolCommands,
} from './command-scanner.ts';
export { backendOrder, createScanner, detectScanner } from './detect-scanner.ts';
export { type Endpoint, parseEndpoint, type RowFamily } from './endpoint-text.ts';
export { ScannerError } from './errors.ts';
export { parseNetstatFreebsd, parseNetstatLinux, parseNetstatMacos, shortProcessName } from './netstat-parser.ts';
export { groupPorts, isLoopbackAddress, type PortGroup } from './port-groups.ts';
export { linuxProcessLabel } from './process-label.ts';
export {
  decodeProcAddress,
  PROC_NET_FILES,
  type ProcNetLine,
  ProcSocketState,
  parseProcNetFile,
  parseProcNetLine,
} from './procfs-parser.ts';
export { ProcfsScanner, type ProcfsScannerOptions, type ProcfsScannerStats } from './procfs-scanner.ts';
export {
  parseCommListing,
  parseFdListing,
  parseRemoteScanOutput,
  REMOTE_MARKER,
  remoteScanScript,
} from './remote-scan.ts';
export { diffScans, type ScanDiff } from './scan-diff.ts';
export type {
  Scanner,
  ScannerBackend,
  ScannerLog,
  ScannerOptions,
  ScanOptions,
  ScanResult,
} from './scanner-types.ts';
export {
  compareSockets,
  type MalformedHandler,
  type ParseResult,
  type SocketRow,
  toScanResult,
} from './socket-rows.ts';
export { parseSockstat } from './sockstat-parser.ts';
export { parseSsOutput } from './ss-parser.ts';
