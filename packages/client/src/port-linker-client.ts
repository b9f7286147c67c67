import {
  type CopyBody,
  daemonPaths,
  type HostSpec,
  type HostView,
  type Lease,
  type LookupAnswer,
  type PooledView,
} from '@port-linker/daemon/client';
import type { ExecExit, ExecOpen } from '@port-linker/proto';
import { ControlClient, DaemonApiError, NoDaemonError } from './control-client.ts';
import { type ExecSession, openExec } from './exec-session.ts';

/** What `GET /v1/status` answers. */
export interface DaemonStatus {
  version: string;
  api: number;
  pid: number;
  started_at: string;
  state_dir: string;
  socket: string;
  hosts: number;
}

/** How far a copy has come, as the daemon streams it. */
export interface CopyProgressEvent {
  event: 'progress';
  bytes: number;
  totalBytes: number;
  files: number;
  totalFiles: number;
  current: string;
}

/** How a copy ended: what was copied, and one line per source or entry that was not. */
export interface CopyOutcome {
  connection: string;
  files: number;
  dirs: number;
  bytes: number;
  errors: string[];
}

/** A finished command's output. */
export interface RunResult extends ExecExit {
  stdout: Buffer;
  stderr: Buffer;
}

/** How to reach a target the daemon does not run yet (it connects on demand) and how long to keep it. */
export type ConnectionOptions = Omit<ExecOpen, 'target' | 'command' | 'pty'>;

const { request } = process.getBuiltinModule('node:http') as typeof import('node:http');

/**
 * The port-linker daemon, for other Node programs: its hosts and forwards, its events, commands and copies over
 * its connections. Talks to the daemon of `PORT_LINKER_HOME` (or the default state dir) over its owner-only Unix
 * socket; the daemon must run (`port-linker daemon start`).
 *
 * ```ts
 * const pl = new PortLinkerClient();
 * const { code, stdout } = await pl.run('devbox', 'uname -a');
 * ```
 */
export class PortLinkerClient {
  readonly socket: string;
  readonly control: ControlClient;

  constructor(options: { socket?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
    this.socket = options.socket ?? daemonPaths(options.env ?? process.env).socket;
    this.control = new ControlClient(this.socket, options.timeoutMs);
  }

  status(): Promise<DaemonStatus> {
    return this.control.call('GET', '/v1/status');
  }

  /** Every host the daemon runs, with its state and forwards. */
  async hosts(): Promise<HostView[]> {
    return (await this.control.call<{ hosts: HostView[] }>('GET', '/v1/hosts')).hosts;
  }

  /** Adds a host (or changes it: the same id with other settings reconnects it). */
  async addHost(spec: Partial<HostSpec> & { target: string }): Promise<HostView> {
    return (await this.control.call<{ host: HostView }>('POST', '/v1/hosts', spec)).host;
  }

  /** Stops a host and forgets it. */
  async removeHost(id: string): Promise<void> {
    await this.control.call('DELETE', `/v1/hosts/${encodeURIComponent(id)}`);
  }

  /** Adds a `-L` forward (`[bind:]port:host:hostport`) to a host; resolves with its key once it listens. */
  async addForward(host: string, forward: string): Promise<string> {
    const path = `/v1/hosts/${encodeURIComponent(host)}/forwards`;
    return (await this.control.call<{ key: string }>('POST', path, { forward })).key;
  }

  /** Removes an explicit forward, by its key or its `-L` text. */
  async removeForward(host: string, keyOrText: string): Promise<void> {
    await this.control.call(
      'DELETE',
      `/v1/hosts/${encodeURIComponent(host)}/forwards/${encodeURIComponent(keyOrText)}`,
    );
  }

  /** The connections opened on demand (for targets the daemon does not run as hosts). */
  async connections(): Promise<PooledView[]> {
    return (await this.control.call<{ connections: PooledView[] }>('GET', '/v1/connections')).connections;
  }

  leases(): Promise<Lease[]> {
    return this.control.call<{ leases: Lease[] }>('GET', '/v1/list').then((r) => r.leases);
  }

  lookup(service: string): Promise<LookupAnswer> {
    return this.control.call('GET', `/v1/lookup?service=${encodeURIComponent(service)}`);
  }

  /** Calls `onEvent` with each engine event (the objects of `--json`) until `signal` aborts. */
  events(onEvent: (e: Record<string, unknown>) => void, signal: AbortSignal): Promise<void> {
    return this.control.events(onEvent, signal);
  }

  /** Starts a command on `target` (a host id of the daemon's, or any target: connected on demand). */
  exec(
    target: string,
    command: string,
    options: ConnectionOptions & { pty?: ExecOpen['pty'] } = {},
  ): Promise<ExecSession> {
    return openExec(this.socket, { ...options, target, command });
  }

  /** Runs a command to its end and collects its output (`stdin` is sent, then closed). */
  async run(
    target: string,
    command: string,
    options: ConnectionOptions & { stdin?: string | Uint8Array } = {},
  ): Promise<RunResult> {
    const { stdin, ...rest } = options;
    const s = await this.exec(target, command, rest);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    s.stdout.on('data', (d: Buffer) => out.push(d));
    s.stderr.on('data', (d: Buffer) => err.push(d));
    s.stdin.end(stdin === undefined ? undefined : Buffer.from(stdin));
    // the output may still be in the streams when the exit is known: its end comes after the last of it
    const ended = (r: NodeJS.ReadableStream) => new Promise<void>((res) => r.once('end', () => res()));
    const [exit] = await Promise.all([s.exit, ended(s.stdout), ended(s.stderr)]);
    return { ...exit, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
  }

  /**
   * Copies over SFTP on the daemon's connection: `up` sends local files (absolute paths) to `dest` on the remote,
   * `down` fetches remote ones. Rejects when nothing could start (no such host, no SFTP); per-file failures are in
   * the outcome's `errors`.
   */
  copy(
    body: Omit<CopyBody, keyof ConnectionOptions> & ConnectionOptions,
    onProgress?: (p: CopyProgressEvent) => void,
    signal?: AbortSignal,
  ): Promise<CopyOutcome> {
    return new Promise<CopyOutcome>((resolve, reject) => {
      const data = JSON.stringify(body);
      const req = request(
        {
          socketPath: this.socket,
          method: 'POST',
          path: '/v1/copy',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
          ...(signal ? { signal } : {}),
        },
        (res) => {
          let buf = '';
          let connection = '';
          let settled = false;
          const chunks: string[] = [];
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if ((res.statusCode ?? 0) >= 400) return chunks.push(chunk);
            buf += chunk;
            for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
              const line = buf.slice(0, i);
              buf = buf.slice(i + 1);
              const e = JSON.parse(line) as Record<string, unknown>;
              if (e.event === 'started') connection = String(e.connection);
              else if (e.event === 'progress') onProgress?.(e as unknown as CopyProgressEvent);
              else if (e.event === 'done') {
                settled = true;
                resolve({ ...(e as unknown as CopyOutcome), connection });
              } else if (e.event === 'error') {
                settled = true;
                reject(new Error(String(e.message)));
              }
            }
          });
          res.on('end', () => {
            if ((res.statusCode ?? 0) >= 400) {
              let error: { code?: string; message?: string } | undefined;
              try {
                error = (JSON.parse(chunks.join('')) as { error?: typeof error }).error;
              } catch {}
              reject(
                new DaemonApiError(
                  res.statusCode ?? 0,
                  error?.code ?? 'error',
                  error?.message ?? `HTTP ${res.statusCode}`,
                ),
              );
            } else if (!settled) reject(new Error('the daemon ended the copy without saying how it went'));
          });
          res.on('error', reject);
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new NoDaemonError(this.socket));
        else reject(err);
      });
      req.end(data);
    });
  }
}
