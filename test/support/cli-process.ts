import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RemoteHost } from '../harness/index.ts';
import { eventSchemaError } from './event-schema.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The built CLI entry (npm test builds it first). */
export const CLI = join(root, 'packages/cli/bin/port-linker.js');

/** One parsed `--json` event line. */
export type CliEvent = Record<string, unknown> & { event: string; ts: string };

/** A running `port-linker --json` process with its parsed events and stderr. */
export class CliProcess {
  readonly child: ChildProcess;
  readonly events: CliEvent[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  /** Events that do not match the events-v1 JSON Schema: waitEvent() and stop() fail while there is one. */
  readonly schemaErrors: string[] = [];
  /** The state dir ($PORT_LINKER_HOME): the caller's, or a fresh one removed on exit. */
  readonly home: string;
  #waiters: Array<() => void> = [];
  readonly #reportDir: string;

  /**
   * Runs the checkout's built CLI with `args`; `opts.command` runs another port-linker instead (an installed one, a
   * standalone executable: its argv before `args`), `opts.cwd` in another directory.
   */
  constructor(args: string[], env: NodeJS.ProcessEnv = {}, opts: { command?: string[]; cwd?: string } = {}) {
    if (!opts.command && !existsSync(join(root, 'packages/cli/dist/main.js')))
      throw new Error('CLI not built: run `npm run build` first');
    this.#reportDir = mkdtempSync(join(tmpdir(), 'pl-cli-report-'));
    const ownHome = env.PORT_LINKER_HOME === undefined;
    this.home = env.PORT_LINKER_HOME ?? mkdtempSync(join(tmpdir(), 'pl-cli-home-'));
    // a diagnostic report (with the JS stack) on SIGUSR2: stop() asks for one when the CLI ignores SIGINT
    const [program, ...pre] = opts.command ?? [
      process.execPath,
      '--report-on-signal',
      `--report-directory=${this.#reportDir}`,
      CLI,
    ];
    this.child = spawn(program as string, [...pre, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PORT_LINKER_LOG: 'debug', ...env, PORT_LINKER_HOME: this.home },
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    let buf = '';
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) {
          const event = JSON.parse(line) as CliEvent;
          const invalid = eventSchemaError(event);
          if (invalid) this.schemaErrors.push(`${line}: ${invalid}`);
          this.events.push(event);
        }
        nl = buf.indexOf('\n');
      }
      for (const w of this.#waiters.splice(0)) w();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    void this.exited.then(() => {
      rmSync(this.#reportDir, { recursive: true, force: true });
      if (ownHome) rmSync(this.home, { recursive: true, force: true });
    });
    void this.exited.then(() => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** Starts port-linker --json against a harness host, with its key and known_hosts. */
  static against(host: RemoteHost, extra: string[] = [], env: NodeJS.ProcessEnv = {}): CliProcess {
    return new CliProcess(['--json', '--no-notify', ...host.portLinkerArgs(), ...extra, host.target], env);
  }

  /** Resolves with the first event (from the start) matching `pred`; rejects after `timeoutMs` with the log tail. */
  async waitEvent(pred: (e: CliEvent) => boolean, what: string, timeoutMs = 15_000): Promise<CliEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.#checkSchema();
      const hit = this.events.find(pred);
      if (hit) return hit;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `port-linker exited ${this.child.exitCode ?? this.child.signalCode} before ${what}; stderr:\n${this.stderr.slice(-3000)}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${what}; last events: ${this.#eventsTail()}; stderr tail:\n${this.stderr.slice(-3000)}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The last few events, one short line each: what the CLI got to when a wait timed out. */
  #eventsTail(): string {
    if (this.events.length === 0) return 'none';
    return this.events
      .slice(-6)
      .map((e) => JSON.stringify(e).slice(0, 200))
      .join(' | ');
  }

  #checkSchema(): void {
    if (this.schemaErrors.length > 0)
      throw new Error(`port-linker printed events outside schema v1:\n${this.schemaErrors.join('\n')}`);
  }

  /** The forward_added event for a remote TCP port. */
  forwardFor(port: number, protocol = 'tcp', timeoutMs = 15_000): Promise<CliEvent> {
    return this.waitEvent(
      (e) => e.event === 'forward_added' && e.remote_port === port && e.protocol === protocol,
      `forward_added for ${protocol} ${port}`,
      timeoutMs,
    );
  }

  /**
   * Sends SIGINT (or `signal`) and resolves with the exit code. A CLI still running 10 s later is a hang: it is
   * killed after a diagnostic report, and stop() rejects with the report's JavaScript stack and the stderr tail.
   */
  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      this.#checkSchema();
      return this.exited;
    }
    this.child.kill(signal);
    const late = Symbol('late');
    const code = await Promise.race([
      this.exited,
      new Promise<typeof late>((r) => setTimeout(() => r(late), 10_000).unref()),
    ]);
    if (code !== late) {
      this.#checkSchema();
      return code;
    }
    this.child.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, 1000));
    const report = readdirSync(this.#reportDir).find((f) => f.endsWith('.json'));
    const stack = report
      ? (
          JSON.parse(readFileSync(join(this.#reportDir, report), 'utf8')) as { javascriptStack?: { stack?: string[] } }
        ).javascriptStack?.stack?.join('\n')
      : 'no report';
    this.child.kill('SIGKILL');
    throw new Error(
      `port-linker did not exit within 10 s of ${signal}; JS stack:\n${stack}\nstderr tail:\n${this.stderr.slice(-3000)}`,
    );
  }
}
