import type { ListeningSocket } from '@port-linker/proto';

/** Where a scanner gets its data: procfs files, or one of the spawned tools. */
export type ScannerBackend = 'procfs' | 'ss' | 'netstat' | 'sockstat';

/** Which protocols one scan covers. */
export interface ScanOptions {
  tcp: boolean;
  udp: boolean;
}

/** One scan: one entry per (protocol, port, address), sorted; `malformed` counts skipped unparseable lines. */
export interface ScanResult {
  sockets: ListeningSocket[];
  malformed: number;
}

/** A way of listing the listening sockets of this machine. */
export interface Scanner {
  /** Which backend this scanner uses (for logs and `doctor`). */
  readonly backend: ScannerBackend;
  /** Lists the listening sockets now. Rejects with ScannerError when the source cannot be read at all. */
  scan(options: ScanOptions): Promise<ScanResult>;
  /** Drops caches; the scanner must not be used afterwards. */
  close?(): void;
}

/** Log sink shared by the scanners; debug lines name malformed input. */
export type ScannerLog = (level: 'debug' | 'info' | 'warn', msg: string) => void;

/** Options of `createScanner` and `detectScanner`. */
export interface ScannerOptions {
  log?: ScannerLog;
}
