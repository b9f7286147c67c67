import { EventEmitter } from 'node:events';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { Channel, Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { quietChannelDestroy } from './channel-destroy.ts';
import { widenReceiveWindow, windowForRoundTrip } from './channel-window.ts';
import type { ResolvedHost } from './config-resolve.ts';
import { ChannelError, hostLabel } from './errors.ts';
import type { LogFn } from './ssh-log.ts';
import { nativeCryptoAvailable } from './ssh2-algorithms.ts';

/** A long-running remote process. */
export interface ExecChannel {
  readonly stdout: Readable;
  readonly stdin: Writable;
  readonly stderr: Readable;
  /** Resolves when the channel closes; code is null when the process died by signal or the link dropped. */
  readonly exit: Promise<{ code: number | null; signal?: string }>;
  close(): void;
  /** A new window size for the pseudo-terminal (spawned with `pty`). */
  resize(rows: number, cols: number): void;
  /** Sends a signal (`INT`, `TERM`, `HUP`, ...) to the remote process; servers may ignore it. */
  signal(name: string): void;
}

/** How to start a remote process. */
export interface SpawnOptions {
  /** A pseudo-terminal of this size and TERM (`ssh -t`). */
  pty?: { rows: number; cols: number; term: string };
}

/** What a finished remote command returned. */
export interface ExecResult {
  code: number | null;
  signal?: string;
  stdout: Buffer;
  stderr: string;
}

/**
 * A channel open the server has not answered after OPEN_STALL_MS makes the connection emit 'stalled' (its owner
 * checks the link at once instead of waiting for keepalives). After OPEN_TIMEOUT_MS it fails if the link has been
 * silent that long, so a local client meets a closed connection rather than a hang while the link is down; on a
 * link that keeps receiving (a slow, loaded one, where the answer queues behind data) it waits on, up to
 * OPEN_MAX_MS.
 */
const OPEN_STALL_MS = 1000;
const OPEN_TIMEOUT_MS = 10_000;
const OPEN_MAX_MS = 120_000;

const OPEN_FAILURE: Record<number, string> = {
  1: 'administratively prohibited',
  2: 'connect failed',
  3: 'unknown channel type',
  4: 'resource shortage',
};

/** A connection the server sends back for a remote forward (`-R`): where it arrived, and how to take it. */
export interface ForwardedConnection {
  /** `tcp`: destAddress:destPort as requested in the forward (port = the one the server bound); `unix`: path. */
  kind: 'tcp' | 'unix';
  destAddress: string;
  destPort: number;
  socketPath: string;
  /** The remote client's address (tcp only). */
  srcAddress: string;
  accept(): Duplex;
  reject(): void;
}

/**
 * An authenticated SSH connection (possibly through jump hosts). Emits 'close' (reason: string) once when the
 * link is gone, whether closed here, by the server, by a keepalive timeout, or because a jump host dropped.
 */
export class SshConnection extends EventEmitter {
  /** The host this connection reached. */
  readonly host: ResolvedHost;
  /** Whether ssh2's native crypto binding is in use. */
  readonly nativeCrypto: boolean = nativeCryptoAvailable;
  /**
   * The IP address the TCP connection reached, when port-linker connected directly; undefined through a jump host
   * or ProxyCommand (the UDP of `--transport quic` aims here).
   */
  readonly remoteAddress: string | undefined;
  readonly #client: Client;
  readonly #jumps: SshConnection[];
  readonly #label: string;
  readonly #log: LogFn;
  #closed = false;
  #reason = 'connection closed';
  #receivedAt = performance.now();

  /**
   * Wraps a ready ssh2 client; `jumps` are closed with it, and it closes when any of them closes. `sock` is the
   * stream ssh2 reads (only watched, for `silentMs`).
   */
  constructor(
    host: ResolvedHost,
    client: Client,
    jumps: SshConnection[],
    log: LogFn,
    remoteAddress?: string,
    sock?: Readable,
  ) {
    super();
    this.host = host;
    this.remoteAddress = remoteAddress;
    sock?.on('data', () => {
      this.#receivedAt = performance.now();
    });
    this.#client = client;
    this.#jumps = jumps;
    this.#label = hostLabel(host);
    this.#log = log;
    client.on('error', (err: Error & { level?: string }) => {
      this.#reason = `${this.#label}: ${describeLinkError(err)}`;
      this.#log('debug', this.#reason);
    });
    client.on('close', () => this.#finish());
    client.on('tcp connection', (d, accept, reject) =>
      this.emit('forwarded', {
        kind: 'tcp',
        destAddress: d.destIP,
        destPort: d.destPort,
        socketPath: '',
        srcAddress: d.srcIP,
        accept: () => this.#accepted(accept()),
        reject,
      } satisfies ForwardedConnection),
    );
    client.on('unix connection', (d, accept, reject) =>
      this.emit('forwarded', {
        kind: 'unix',
        destAddress: '',
        destPort: 0,
        socketPath: d.socketPath,
        srcAddress: '',
        accept: () => this.#accepted(accept()),
        reject,
      } satisfies ForwardedConnection),
    );
    for (const j of jumps) {
      j.once('close', (why: string) => {
        this.#reason = `jump host ${hostLabel(j.host)} went away (${why})`;
        this.#client.end();
        this.#finish();
      });
    }
  }

  /**
   * How long nothing has come from the server, ms (since creation when the socket is not watched). A link stuck in TCP's
   * retransmission backoff after an outage is silent; a busy one is not, however slow its answers.
   */
  get silentMs(): number {
    return performance.now() - this.#receivedAt;
  }

  /** True once the link is gone. */
  get closed(): boolean {
    return this.#closed;
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const j of [...this.#jumps].reverse()) j.close();
    this.emit('close', this.#reason);
  }

  #channelError(what: string, err: Error & { reason?: number | string }): ChannelError {
    if (this.#closed)
      return new ChannelError(
        this.#label,
        `${this.#label}: cannot ${what}: the connection is closed (${this.#reason})`,
      );
    return new ChannelError(this.#label, `${this.#label}: cannot ${what}: ${err.message}`, undefined, { cause: err });
  }

  /**
   * Opens a session channel; its exit status and close are watched from the open callback on: a short command's
   * exit-status and close can arrive in the same read as the open confirmation, before an awaiting caller runs.
   */
  #openExec(
    command: string,
    options: SpawnOptions = {},
  ): Promise<{ ch: ClientChannel; exit: Promise<{ code: number | null; signal?: string }> }> {
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(this.#channelError(`run "${short(command)}"`, new Error('closed')));
      const pty = options.pty
        ? { pty: { rows: options.pty.rows, cols: options.pty.cols, term: options.pty.term, width: 0, height: 0 } }
        : {};
      const done = (err: Error | undefined, ch: ClientChannel) => {
        if (err) return reject(this.#channelError(command ? `run "${short(command)}"` : 'start a shell', err));
        let status: { code: number | null; signal?: string } = { code: null };
        ch.on('exit', (code: number | null, signal?: string) => {
          status = signal ? { code: null, signal } : { code: code ?? null };
        });
        const exit = new Promise<{ code: number | null; signal?: string }>((res) =>
          ch.once('close', () => res(status)),
        );
        resolve({ ch, exit });
      };
      try {
        // no command: the login shell (`ssh host`), on a terminal when asked for one
        if (command === '') this.#client.shell(pty.pty ?? false, done);
        else this.#client.exec(command, pty, done);
      } catch (err) {
        reject(this.#channelError(`run "${short(command)}"`, err as Error));
      }
    });
  }

  /** Runs a command to completion and collects its output (stdin is closed after `stdin` is sent). */
  async exec(command: string, options: { stdin?: Uint8Array | string; timeoutMs?: number } = {}): Promise<ExecResult> {
    const { ch, exit } = await this.#openExec(command);
    return new Promise((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timer: NodeJS.Timeout | undefined;
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          ch.close();
          reject(
            new ChannelError(
              this.#label,
              `${this.#label}: "${short(command)}" did not finish within ${options.timeoutMs} ms`,
            ),
          );
        }, options.timeoutMs);
      }
      ch.on('data', (d: Buffer) => out.push(d));
      ch.stderr.on('data', (d: Buffer) => err.push(d));
      // the close can come before the buffered output is read: wait for both streams' ends too
      const ended = (r: Readable) =>
        new Promise<void>((res) => {
          if (r.readableEnded) res();
          else r.once('end', () => res()).once('close', () => res());
        });
      void Promise.all([exit, ended(ch), ended(ch.stderr)]).then(([status]) => {
        clearTimeout(timer);
        resolve({ ...status, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
      });
      ch.end(options.stdin === undefined ? undefined : Buffer.from(options.stdin));
    });
  }

  /** Starts a long-running remote process with its three streams. */
  async spawn(command: string, options: SpawnOptions = {}): Promise<ExecChannel> {
    const { ch, exit } = await this.#openExec(command, options);
    return {
      stdout: ch,
      stdin: ch,
      stderr: ch.stderr,
      exit,
      close: () => ch.close(),
      resize: (rows, cols) => {
        if (!ch.destroyed) ch.setWindow(rows, cols, 0, 0);
      },
      signal: (name) => {
        if (!ch.destroyed) ch.signal(name);
      },
    };
  }

  /** Opens an SFTP session (a session channel of its own); a server without SFTP gives a clear ChannelError. */
  openSftp(what: string): Promise<SFTPWrapper> {
    return new Promise<SFTPWrapper>((resolve, reject) => {
      if (this.#closed) return reject(this.#channelError(what, new Error('closed')));
      this.#client.sftp((err, s) => {
        if (!err) return resolve(s);
        if (/subsystem/i.test(err.message)) {
          return reject(
            new ChannelError(
              this.#label,
              `${this.#label}: cannot ${what}: the server has no SFTP subsystem (add "Subsystem sftp internal-sftp" to its sshd_config)`,
              err.message,
              { cause: err },
            ),
          );
        }
        reject(this.#channelError(what, err));
      });
    });
  }

  /** Uploads a file over SFTP and sets its mode; a server without an SFTP subsystem gives a clear ChannelError. */
  async writeFile(remotePath: string, data: Uint8Array, mode: number): Promise<void> {
    const sftp = await this.openSftp(`upload ${remotePath}`);
    const step = (fn: (cb: (err?: Error | null) => void) => void) =>
      new Promise<void>((resolve, reject) =>
        fn((err) =>
          err
            ? reject(
                new ChannelError(
                  this.#label,
                  `${this.#label}: upload to ${remotePath} failed: ${err.message}`,
                  undefined,
                  { cause: err },
                ),
              )
            : resolve(),
        ),
      );
    try {
      await step((cb) => sftp.writeFile(remotePath, Buffer.from(data), { mode }, cb));
      await step((cb) => sftp.chmod(remotePath, mode, cb));
    } finally {
      sftp.end();
    }
  }

  #accepted(ch: Channel): Duplex {
    quietChannelDestroy(ch as ClientChannel);
    widenReceiveWindow(ch as ClientChannel, windowForRoundTrip(20));
    return ch;
  }

  /**
   * Asks the server to listen on `bindAddress:port` (`-R`; port 0 = the server picks) and resolves with the bound
   * port. Connections arrive as 'forwarded' events. Rejects with the server's refusal explained.
   */
  forwardIn(bindAddress: string, port: number): Promise<number> {
    const where = `${bindAddress || '*'}:${port}`;
    return this.#globalRequest(`listen on ${where} on the remote`, (cb) =>
      this.#client.forwardIn(bindAddress, port, (err, bound) => cb(err, bound)),
    );
  }

  /** Stops a remote forward started by forwardIn (best effort). */
  unforwardIn(bindAddress: string, port: number): Promise<void> {
    return this.#globalRequest(`stop listening on ${bindAddress || '*'}:${port}`, (cb) =>
      this.#client.unforwardIn(bindAddress, port, (err) => cb(err, undefined)),
    ).then(() => undefined);
  }

  /** Asks the server to listen on the Unix socket `path` (`-R /remote.sock:...`); connections arrive as 'forwarded'. */
  forwardInUnix(path: string): Promise<void> {
    return this.#globalRequest(`listen on ${path} on the remote`, (cb) =>
      this.#client.openssh_forwardInStreamLocal(path, (err) => cb(err, undefined)),
    ).then(() => undefined);
  }

  #globalRequest<T>(what: string, send: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> {
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(this.#channelError(what, new Error('closed')));
      try {
        send((err, value) => {
          if (!err) return resolve(value);
          const hint =
            ' (the server refused: the port may be taken there, privileged, or forbidden by AllowTcpForwarding, AllowStreamLocalForwarding or PermitListen)';
          reject(new ChannelError(this.#label, `${this.#label}: cannot ${what}${hint}`, undefined, { cause: err }));
        });
      } catch (err) {
        reject(this.#channelError(what, err as Error));
      }
    });
  }

  /** Opens a direct-streamlocal channel to the Unix socket `path` on the server (`-L ...:/remote.sock`). */
  forwardOutUnix(path: string): Promise<Duplex> {
    const what = `open a tunnel to ${path}`;
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(this.#channelError(what, new Error('closed')));
      try {
        this.#client.openssh_forwardOutStreamLocal(path, (err, ch) => {
          if (!err) {
            quietChannelDestroy(ch);
            return resolve(ch);
          }
          const e = err as Error & { reason?: number };
          const why = typeof e.reason === 'number' ? (OPEN_FAILURE[e.reason] ?? `reason ${e.reason}`) : e.message;
          const hint =
            e.reason === 1
              ? '; the server forbids it (AllowStreamLocalForwarding no)'
              : e.reason === 2
                ? `; nothing listens on ${path} on the remote, or it is not accessible to this user`
                : '';
          reject(new ChannelError(this.#label, `${this.#label}: cannot ${what}: ${why}${hint}`, why, { cause: e }));
        });
      } catch (err) {
        reject(this.#channelError(what, err as Error));
      }
    });
  }

  /** Opens a direct-tcpip channel to dstHost:dstPort as seen from the server. */
  forwardOut(dstHost: string, dstPort: number): Promise<Duplex> {
    const what = `open a tunnel to ${dstHost}:${dstPort}`;
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(this.#channelError(what, new Error('closed')));
      try {
        const opening = performance.now();
        const watch = this.#watchOpen(what, reject);
        this.#client.forwardOut('127.0.0.1', 0, dstHost, dstPort, (err, ch) => {
          if (!watch.answered()) {
            if (!err) ch.close(); // answered after the timeout: nobody waits for it any more
            return;
          }
          if (!err) {
            quietChannelDestroy(ch);
            widenReceiveWindow(ch, windowForRoundTrip(performance.now() - opening));
            return resolve(ch);
          }
          const e = err as Error & { reason?: number };
          const code = typeof e.reason === 'number' ? e.reason : undefined;
          if (code === undefined) return reject(this.#channelError(what, e));
          const why = OPEN_FAILURE[code] ?? `reason ${code}`;
          const desc = e.message.replace(/^\(SSH\) Channel open failure:\s*/, '');
          const hint =
            code === 1
              ? '; the server forbids TCP forwarding (AllowTcpForwarding no or a permitopen restriction)'
              : code === 2
                ? `; nothing accepts connections at ${dstHost}:${dstPort} on the remote side`
                : '';
          reject(
            new ChannelError(this.#label, `${this.#label}: cannot ${what}: ${why} (${desc})${hint}`, why, { cause: e }),
          );
        });
      } catch (err) {
        reject(this.#channelError(what, err as Error));
      }
    });
  }

  /**
   * Times one channel open (see OPEN_STALL_MS): `answered()` stops the timers and says whether the caller still
   * waits (false once the open timed out and `reject` was called).
   */
  #watchOpen(what: string, reject: (err: Error) => void): { answered(): boolean } {
    let waiting = true;
    const stall = setTimeout(() => {
      if (!this.#closed) this.emit('stalled', `channel open unanswered for ${OPEN_STALL_MS / 1000} s`);
    }, OPEN_STALL_MS);
    const t0 = performance.now();
    let timeout: NodeJS.Timeout;
    const expire = () => {
      const waited = performance.now() - t0;
      if (this.silentMs < OPEN_TIMEOUT_MS && waited < OPEN_MAX_MS) {
        timeout = setTimeout(expire, OPEN_STALL_MS);
        return;
      }
      waiting = false;
      reject(
        new ChannelError(
          this.#label,
          `${this.#label}: cannot ${what}: no answer from the server within ${Math.round(waited / 1000)} s (the link may be down)`,
          'timeout',
        ),
      );
    };
    timeout = setTimeout(expire, OPEN_TIMEOUT_MS);
    return {
      answered: () => {
        clearTimeout(stall);
        clearTimeout(timeout);
        const was = waiting;
        waiting = false;
        return was;
      },
    };
  }

  /**
   * One round trip over the link, end to end (a session channel that runs `true`): false when the server does not
   * answer within `timeoutMs`. Used after a suspend or clock jump, instead of waiting for keepalive timeouts.
   */
  async checkAlive(timeoutMs: number): Promise<boolean> {
    if (this.#closed) return false;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      const answered = this.exec('true', { timeoutMs }).then(
        () => true,
        (err: Error) => {
          this.#log('debug', `${this.#label}: link check: ${err.message}`);
          return false;
        },
      );
      return await Promise.race([answered, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drops a link that failed a health check at once; 'close' follows with `reason`. */
  abandon(reason: string): void {
    if (this.#closed) return;
    this.#reason = reason;
    this.#client.destroy();
    this.#finish();
  }

  /** Closes the connection (and the jump hosts it goes through). */
  close(): void {
    if (this.#closed) return;
    this.#reason = 'closed by us';
    this.#client.end();
    setTimeout(() => {
      if (!this.#closed) {
        this.#client.destroy();
        this.#finish();
      }
    }, 2000).unref();
  }
}

function short(command: string): string {
  return command.length > 60 ? `${command.slice(0, 57)}...` : command;
}

/** A readable explanation of an ssh2 link error after login. */
export function describeLinkError(err: Error & { level?: string; code?: string | number }): string {
  if (/keepalive/i.test(err.message)) return 'no answer to keepalives (ServerAliveInterval); the link is down';
  if (typeof err.code === 'string') return `connection lost (${err.code})`;
  return err.message;
}
