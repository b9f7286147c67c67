// Not `import ... from 'node:http'`: an ESM import of node:http copies every export, and its lazy getters load
// undici (~10 ms of every `port-linker ls`); getBuiltinModule gives the CommonJS object and loads nothing more.
const { request } = process.getBuiltinModule('node:http') as typeof import('node:http');

import { DaemonApiError, NoDaemonError } from './errors.ts';

export { DaemonApiError, NoDaemonError };

/**
 * A client of the control API on the daemon's Unix socket. Cheap to load: only node:http (the CLI's `ls` must start
 * fast).
 */
export class ControlClient {
  constructor(
    readonly socket: string,
    readonly timeoutMs = 10_000,
  ) {}

  /** One request; resolves with the parsed JSON body, rejects with DaemonApiError on 4xx/5xx, NoDaemonError. */
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          socketPath: this.socket,
          method,
          path,
          headers:
            data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              reject(
                new DaemonApiError(
                  res.statusCode ?? 0,
                  'bad_reply',
                  `the daemon sent a reply that is not JSON (${method} ${path})`,
                ),
              );
              return;
            }
            const status = res.statusCode ?? 0;
            if (status >= 400) {
              const e = (parsed as { error?: { code?: string; message?: string } }).error;
              reject(new DaemonApiError(status, e?.code ?? 'error', e?.message ?? `HTTP ${status}`));
            } else resolve(parsed as T);
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`the daemon did not answer ${method} ${path} within ${this.timeoutMs / 1000} s`)),
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new NoDaemonError(this.socket));
        else reject(err);
      });
      req.end(data);
    });
  }

  /** Streams `GET /v1/events` (SSE): calls `onEvent` per event until `signal` aborts or the daemon goes. */
  events(onEvent: (e: Record<string, unknown>) => void, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: this.socket, method: 'GET', path: '/v1/events', signal }, (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const data = block
              .split('\n')
              .filter((l) => l.startsWith('data: '))
              .map((l) => l.slice(6))
              .join('\n');
            if (data) onEvent(JSON.parse(data) as Record<string, unknown>);
          }
        });
        res.on('end', () => resolve());
        res.on('error', () => resolve());
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (signal.aborted) resolve();
        else if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new NoDaemonError(this.socket));
        else reject(err);
      });
      req.end();
    });
  }
}
