import { accessSync, constants } from 'node:fs';
import { CommandScanner } from './command-scanner.ts';
import { ScannerError } from './errors.ts';
import { ProcfsScanner } from './procfs-scanner.ts';
import type { Scanner, ScannerBackend, ScannerOptions } from './scanner-types.ts';

/** Builds a scanner for one backend without probing it (a missing tool shows up on the first scan). */
export function createScanner(backend: ScannerBackend, options: ScannerOptions = {}): Scanner {
  if (backend === 'procfs') return new ProcfsScanner(options);
  return new CommandScanner(backend, options);
}

/**
 * Backends in the order detection tries them on a platform: procfs (Linux only), ss, then netstat; on
 * FreeBSD sockstat comes before netstat because only it names the processes.
 */
export function backendOrder(platform: NodeJS.Platform): ScannerBackend[] {
  const order: ScannerBackend[] = [];
  if (platform === 'linux') order.push('procfs');
  order.push('ss');
  if (platform === 'freebsd') order.push('sockstat', 'netstat');
  else order.push('netstat', 'sockstat');
  return order;
}

/**
 * Picks the first backend that works here: each candidate must complete one real TCP+UDP scan. Logs the choice
 * at info level (and each rejected candidate at debug); rejects with ScannerError listing every failure when
 * none works.
 */
export async function detectScanner(options: ScannerOptions = {}): Promise<Scanner> {
  const failures: string[] = [];
  for (const backend of backendOrder(process.platform)) {
    if (backend === 'procfs') {
      try {
        accessSync('/proc/net/tcp', constants.R_OK);
      } catch (err) {
        failures.push(`procfs: ${(err as Error).message}`);
        continue;
      }
    }
    const scanner = createScanner(backend, options);
    try {
      await scanner.scan({ tcp: true, udp: true });
    } catch (err) {
      scanner.close?.();
      const reason = (err as Error).message;
      failures.push(`${backend}: ${reason}`);
      options.log?.('debug', `scanner: ${backend} backend unusable: ${reason}`);
      continue;
    }
    options.log?.('info', `scanner: using the ${backend} backend`);
    return scanner;
  }
  throw new ScannerError(
    undefined,
    `no scanner backend works on ${process.platform} (${failures.join('; ')}); install iproute2 (ss) or net-tools (netstat)`,
  );
}
