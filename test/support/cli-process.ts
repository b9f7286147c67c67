import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RemoteHost } from '../harness/index.ts';

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
  #waiters: Array<() => void> = [];

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    if (!existsSync(join(root, 'packages/cli/dist/main.js')))
      throw new Error('CLI not built: run `npm run build` first');
    this.child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PORT_LINKER_LOG: 'debug', ...env },
    });
    let buf = '';
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) this.events.push(JSON.parse(line) as CliEvent);
        nl = buf.indexOf('\n');
      }
      for (const w of this.#waiters.splice(0)) w();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
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
      const hit = this.events.find(pred);
      if (hit) return hit;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `port-linker exited ${this.child.exitCode ?? this.child.signalCode} before ${what}; stderr:\n${this.stderr.slice(-3000)}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; stderr tail:\n${this.stderr.slice(-3000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The forward_added event for a remote TCP port. */
  forwardFor(port: number, protocol = 'tcp'): Promise<CliEvent> {
    return this.waitEvent(
      (e) => e.event === 'forward_added' && e.remote_port === port && e.protocol === protocol,
      `forward_added for ${protocol} ${port}`,
    );
  }

  /** Sends SIGINT and resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exited;
  }
}
