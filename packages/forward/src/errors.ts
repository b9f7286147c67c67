import { ErrorCode, PortLinkerError } from '@port-linker/proto';

/** A bad --ports/--exclude/-L value: one line saying what and how to fix it (exit 2). */
export class UsageError extends PortLinkerError {
  constructor(message: string) {
    super(ErrorCode.Usage, message);
  }
}

/** A local listener could not be created. */
export class BindError extends PortLinkerError {
  readonly port: number;
  readonly address: string;
  constructor(address: string, port: number, message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Forward, message, options);
    this.address = address;
    this.port = port;
  }
}
