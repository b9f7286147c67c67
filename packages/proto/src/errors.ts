/** Stable error codes: callers switch on `code`, never on message text. */
export const ErrorCode = {
  Protocol: 'PROTOCOL',
  Usage: 'USAGE',
  Auth: 'AUTH',
  HostKey: 'HOST_KEY',
  Connect: 'CONNECT',
  Channel: 'CHANNEL',
  Deploy: 'DEPLOY',
  Scanner: 'SCANNER',
  Transport: 'TRANSPORT',
  Forward: 'FORWARD',
  Harness: 'HARNESS',
  Internal: 'INTERNAL',
} as const;

/** One of the fixed error codes. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every error port-linker raises on purpose. */
export class PortLinkerError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The byte stream or a payload broke the wire protocol; the transport carrying it must close. */
export class ProtocolError extends PortLinkerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Protocol, message, options);
  }
}

/** An encoder was handed a value the wire format cannot represent. */
export class EncodeError extends PortLinkerError {
  constructor(message: string) {
    super(ErrorCode.Internal, message);
  }
}
