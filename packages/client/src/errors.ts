/** The daemon does not run (nothing listens on its socket). */
export class NoDaemonError extends Error {
  readonly code = 'ENODAEMON';
  constructor(socket: string) {
    super(`no daemon runs (nothing at ${socket}): start one with \`port-linker up\` or \`port-linker daemon start\``);
  }
}

/** The daemon answered with an error (`{"error": {"code", "message"}}`). */
export class DaemonApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
