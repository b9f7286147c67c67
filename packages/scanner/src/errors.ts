import { ErrorCode, PortLinkerError } from '@port-linker/proto';
import type { ScannerBackend } from './scanner-types.ts';

/** A scanner backend could not produce a scan (file unreadable, tool missing or failing, no backend at all). */
export class ScannerError extends PortLinkerError {
  /** The backend that failed, or undefined when detection found none. */
  readonly backend: ScannerBackend | undefined;
  constructor(backend: ScannerBackend | undefined, message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Scanner, message, options);
    this.backend = backend;
  }
}
