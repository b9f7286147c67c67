import { ErrorCode, PortLinkerError, type TransportName } from '@port-linker/proto';

/** A transport could not be set up or broke: which kind, and why. */
export class TransportError extends PortLinkerError {
  readonly kind: TransportName;
  constructor(kind: TransportName, message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Transport, `${kind} transport: ${message}`, options);
    this.kind = kind;
  }
}
