// Test-only RemoteSession over ssh2's Client (the real SshConnection of packages/ssh replaces it in the CLI).
import type { ExecChannel, ExecResult, RemoteSession } from '@port-linker/deploy';
import { Client, type ClientChannel, type SFTPWrapper } from 'ssh2';
import type { RemoteHost } from '../harness/index.ts';

/** A RemoteSession on one ssh2 connection to a harness host. */
export class Ssh2Session implements RemoteSession {
  readonly client: Client;
  #sftp: Promise<SFTPWrapper> | undefined;
  /** Bytes written to exec stdin and SFTP files, for tests that count uploads independently. */
  bytesSent = 0;
  execCount = 0;

  private constructor(client: Client) {
    this.client = client;
  }

  /** Connects to `host` as root with its generated key. */
  static connect(host: RemoteHost): Promise<Ssh2Session> {
    return Ssh2Session.connectTo({
      host: host.address,
      port: host.port,
      username: host.user,
      privateKey: host.clientKey,
    });
  }

  /** Connects with explicit parameters (for a child process that has no RemoteHost object). */
  static connectTo(target: { host: string; port: number; username: string; privateKey: Buffer }): Promise<Ssh2Session> {
    return new Promise((resolve, reject) => {
      const c = new Client();
      c.on('ready', () => resolve(new Ssh2Session(c))).on('error', reject);
      c.connect({ ...target, readyTimeout: 10_000 });
    });
  }

  #channel(command: string): Promise<ClientChannel> {
    this.execCount++;
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, ch) => (err ? reject(err) : resolve(ch)));
    });
  }

  async exec(command: string, options: { stdin?: Uint8Array | string; timeoutMs?: number } = {}): Promise<ExecResult> {
    const ch = await this.#channel(command);
    return new Promise((resolve, reject) => {
      const out: Buffer[] = [];
      let err = '';
      let code: number | null = null;
      let signal: string | undefined;
      const timer = options.timeoutMs
        ? setTimeout(() => {
            ch.close();
            reject(new Error(`${command.slice(0, 40)}: timed out after ${options.timeoutMs} ms`));
          }, options.timeoutMs)
        : undefined;
      ch.on('data', (d: Buffer) => out.push(d));
      ch.stderr.on('data', (d: Buffer) => {
        err += d.toString('utf8');
      });
      ch.on('exit', (c: number | null, s?: string) => {
        code = c;
        signal = s ?? undefined;
      });
      ch.on('close', () => {
        clearTimeout(timer);
        resolve({ code, ...(signal ? { signal } : {}), stdout: Buffer.concat(out), stderr: err });
      });
      if (options.stdin !== undefined) {
        this.bytesSent +=
          typeof options.stdin === 'string' ? Buffer.byteLength(options.stdin) : options.stdin.byteLength;
        ch.end(options.stdin);
      } else ch.end();
    });
  }

  async spawn(command: string): Promise<ExecChannel> {
    const ch = await this.#channel(command);
    const exit = new Promise<{ code: number | null; signal?: string }>((resolve) => {
      let code: number | null = null;
      let signal: string | undefined;
      ch.on('exit', (c: number | null, s?: string) => {
        code = c;
        signal = s ?? undefined;
      });
      ch.on('close', () => resolve({ code, ...(signal ? { signal } : {}) }));
    });
    return { stdout: ch, stdin: ch, stderr: ch.stderr, exit, close: () => ch.close() };
  }

  async writeFile(remotePath: string, data: Uint8Array, mode: number): Promise<void> {
    this.#sftp ??= new Promise((resolve, reject) => this.client.sftp((err, s) => (err ? reject(err) : resolve(s))));
    const sftp = await this.#sftp.catch((err: Error) => {
      this.#sftp = undefined;
      throw err;
    });
    this.bytesSent += data.byteLength;
    await new Promise<void>((resolve, reject) =>
      sftp.writeFile(remotePath, Buffer.from(data.buffer, data.byteOffset, data.byteLength), { mode }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }

  /**
   * Ends the connection, and destroys the socket if it is not closed 500 ms later (a server killed by the harness may
   * never answer: a half-open socket would keep the test process alive).
   */
  close(): void {
    this.client.end();
    setTimeout(() => this.client.destroy(), 500).unref();
  }
}
