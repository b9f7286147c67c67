import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ScannerError } from './errors.ts';
import { parseNetstatFreebsd, parseNetstatLinux, parseNetstatMacos } from './netstat-parser.ts';
import { linuxProcessLabel } from './process-label.ts';
import type { Scanner, ScannerBackend, ScannerLog, ScannerOptions, ScanOptions, ScanResult } from './scanner-types.ts';
import type { MalformedHandler, ParseResult } from './socket-rows.ts';
import { toScanResult } from './socket-rows.ts';
import { parseSockstat } from './sockstat-parser.ts';
import { parseSsOutput } from './ss-parser.ts';

/** Which netstat output format to expect. */
export type NetstatDialect = 'linux' | 'macos' | 'freebsd';

/** The netstat dialect of a Node platform name (BSDs other than macOS print the FreeBSD format). */
export function netstatDialect(platform: NodeJS.Platform): NetstatDialect {
  if (platform === 'linux') return 'linux';
  if (platform === 'darwin') return 'macos';
  return 'freebsd';
}

/** One tool run: argv variants tried in order (newest flags first), and the parser of its output. */
export interface ToolCommand {
  variants: string[][];
  parse: (text: string, onMalformed?: MalformedHandler) => ParseResult;
}

/** Options of the spawned-tool scanners. */
export interface CommandScannerOptions extends ScannerOptions {
  /** Output format and commands to use; defaults to this machine's. */
  platform?: NodeJS.Platform;
  /** Per-command time limit (default 5 s). */
  timeoutMs?: number;
}

/**
 * The commands one scan runs, without a shell. ss and Linux netstat list both protocols in one run; BSD netstat
 * takes one `-p` per run. `-W` (no address truncation) and `-H` (no header) are tried first and dropped if the
 * installed tool rejects them.
 */
export function toolCommands(backend: Exclude<ScannerBackend, 'procfs'>, dialect: NetstatDialect, o: ScanOptions) {
  const commands: ToolCommand[] = [];
  const letters = `${o.tcp ? 't' : ''}${o.udp ? 'u' : ''}`;
  if (letters === '') return commands;
  if (backend === 'ss') {
    commands.push({
      variants: [
        ['ss', `-H${letters}lnp`],
        ['ss', `-${letters}lnp`],
      ],
      parse: parseSsOutput,
    });
  } else if (backend === 'sockstat') {
    commands.push({ variants: [['sockstat', '-46l']], parse: parseSockstat });
  } else if (dialect === 'linux') {
    commands.push({
      variants: [
        ['netstat', `-${letters}lnpW`],
        ['netstat', `-${letters}lnp`],
      ],
      parse: parseNetstatLinux,
    });
  } else {
    const flags = dialect === 'macos' ? '-anv' : '-an';
    const parse = dialect === 'macos' ? parseNetstatMacos : parseNetstatFreebsd;
    for (const p of ['tcp', 'udp'] as const) {
      if (!o[p]) continue;
      commands.push({
        variants: [
          ['netstat', `${flags}W`, '-p', p],
          ['netstat', flags, '-p', p],
        ],
        parse,
      });
    }
  }
  return commands;
}

interface RunOutput {
  code: number;
  stdout: string;
  stderr: string;
}

function runTool(argv: string[], timeoutMs: number): Promise<RunOutput> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    execFile(
      file ?? '',
      args,
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' }, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(err);
        if (err?.killed) return reject(new Error(`timed out after ${timeoutMs} ms`));
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * The ss, netstat and sockstat backends: spawn the tool (no shell, LC_ALL=C), parse its output, keep the rows
 * of the asked protocols. On Linux, a row's pid is turned into the comm label via /proc/<pid>/comm when readable
 * (net-tools prints cmdline names, which differ); on macOS, pids without a name are named by one `ps` run.
 */
export class CommandScanner implements Scanner {
  readonly backend: Exclude<ScannerBackend, 'procfs'>;
  readonly #dialect: NetstatDialect;
  readonly #log: ScannerLog | undefined;
  readonly #timeoutMs: number;
  /** Index of the argv variant that worked, per command (by its first variant). */
  readonly #working = new Map<string, number>();

  constructor(backend: Exclude<ScannerBackend, 'procfs'>, options: CommandScannerOptions = {}) {
    this.backend = backend;
    this.#dialect = netstatDialect(options.platform ?? process.platform);
    this.#log = options.log;
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  async scan(options: ScanOptions): Promise<ScanResult> {
    const commands = toolCommands(this.backend, this.#dialect, options);
    const parts = await Promise.all(commands.map((c) => this.#run(c)));
    for (const part of parts) part.rows = part.rows.filter((r) => options[r.protocol]);
    await this.#nameProcesses(parts);
    return toScanResult(parts);
  }

  async #run(command: ToolCommand): Promise<ParseResult> {
    const key = command.variants[0]?.join(' ') ?? '';
    const start = this.#working.get(key) ?? 0;
    const failures: string[] = [];
    for (let i = start; i < command.variants.length; i++) {
      const argv = command.variants[i] ?? [];
      let out: RunOutput;
      try {
        out = await runTool(argv, this.#timeoutMs);
      } catch (err) {
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        throw new ScannerError(
          this.backend,
          missing
            ? `${argv[0]} is not installed (tried \`${argv.join(' ')}\`); install it or use another backend`
            : `\`${argv.join(' ')}\` failed: ${(err as Error).message}`,
          { cause: err },
        );
      }
      if (out.code !== 0) {
        failures.push(`\`${argv.join(' ')}\` exited ${out.code}: ${out.stderr.trim().split('\n')[0] ?? ''}`);
        continue;
      }
      this.#working.set(key, i);
      return command.parse(out.stdout, (line, reason) =>
        this.#log?.('debug', `scanner: ${argv[0]}: ${reason}: ${JSON.stringify(line)}`),
      );
    }
    throw new ScannerError(this.backend, `${failures.join('; ')}; use another backend`);
  }

  async #nameProcesses(parts: ParseResult[]): Promise<void> {
    const rows = parts.flatMap((p) => p.rows).filter((r) => r.pid > 0);
    if (rows.length === 0) return;
    if (this.#dialect === 'linux' && existsSync('/proc/self/comm')) {
      const labels = new Map<number, string>();
      for (const row of rows) {
        let label = labels.get(row.pid);
        if (label === undefined) {
          label = linuxProcessLabel(row.pid);
          labels.set(row.pid, label);
        }
        if (label !== '') row.process = label;
      }
      return;
    }
    if (this.#dialect !== 'macos') return;
    const unnamed = [...new Set(rows.filter((r) => r.process === '').map((r) => r.pid))];
    if (unnamed.length === 0) return;
    try {
      const out = await runTool(['ps', '-o', 'pid=,comm=', '-p', unnamed.join(',')], this.#timeoutMs);
      const names = parsePsComm(out.stdout);
      for (const row of rows) if (row.process === '') row.process = names.get(row.pid) ?? '';
    } catch (err) {
      this.#log?.('debug', `scanner: ps for process names failed: ${(err as Error).message}`);
    }
  }
}

/** Parses `ps -o pid=,comm=` output into pid -> program base name (macOS prints full paths, maybe with spaces). */
export function parsePsComm(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(.+?)\s*$/.exec(line);
    if (!m) continue;
    const path = m[2] ?? '';
    names.set(Number(m[1]), path.slice(path.lastIndexOf('/') + 1));
  }
  return names;
}
