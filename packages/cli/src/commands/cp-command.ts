import type { CopyProgressEvent } from '@port-linker/client';
import type { CommandIo } from './command-io.ts';
import { absolutePath } from './connect-command.ts';
import { ensureDaemon } from './daemon-client.ts';
import { type ConnectionFlags, connectionOptions } from './exec-command.ts';

/** One operand of `cp`: a local path, or `[user@]host:path` (`[user@][v6]:path`), as scp reads them. */
export type CopyOperand = { host: string; path: string } | { host?: undefined; path: string };

/**
 * Splits `host:path` like scp: a colon before any slash makes the operand remote (`./a:b` and `/a:b` are local
 * paths; `host:` is the login directory).
 */
export function parseOperand(arg: string): CopyOperand {
  const m = /^((?:[^@/:\s]+@)?(?:\[[0-9A-Fa-f:.%\w]+\]|[^:/\s[\]]+)):(.*)$/s.exec(arg);
  if (!m || arg.startsWith('./') || arg.startsWith('../')) return { path: arg };
  return { host: (m[1] as string).replace(/\[([^\]]+)\]$/, '$1'), path: m[2] as string };
}

/** What one `cp` asks for, checked: every source on one side, the destination on the other. */
export function planCopy(
  args: string[],
  cwd: string,
): { target: string; direction: 'up' | 'down'; sources: string[]; dest: string } {
  if (args.length < 2) throw new Error('cp: give at least one SOURCE and a DEST (host:path on one side)');
  const ops = args.map(parseOperand);
  const dest = ops.at(-1) as CopyOperand;
  const sources = ops.slice(0, -1);
  const remoteSources = sources.filter((s) => s.host !== undefined);
  if (dest.host !== undefined) {
    if (remoteSources.length > 0)
      throw new Error('cp: copying between two remote paths is not supported: copy to a local directory first');
    return {
      target: dest.host,
      direction: 'up',
      sources: sources.map((s) => absolutePath(s.path, cwd)),
      dest: dest.path,
    };
  }
  if (remoteSources.length === 0)
    throw new Error('cp: neither side names a host: write the remote side as host:path (e.g. devbox:/tmp/)');
  if (remoteSources.length !== sources.length)
    throw new Error('cp: all sources must be on the same side (every one host:path, or every one local)');
  const hosts = new Set(remoteSources.map((s) => s.host));
  if (hosts.size > 1) throw new Error(`cp: the sources are on ${hosts.size} hosts: copy from one host at a time`);
  return {
    target: remoteSources[0]?.host as string,
    direction: 'down',
    sources: sources.map((s) => s.path),
    dest: absolutePath(dest.path, cwd),
  };
}

function size(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** A one-line progress bar (percent, bytes, rate, files) redrawn in place on a terminal. */
export function progressLine(p: CopyProgressEvent, elapsedMs: number, width: number): string {
  const pct = p.totalBytes === 0 ? 100 : Math.floor((p.bytes / p.totalBytes) * 100);
  const rate = elapsedMs > 0 ? (p.bytes / elapsedMs) * 1000 : 0;
  const barWidth = Math.max(10, Math.min(30, width - 70));
  const filled = Math.round((barWidth * pct) / 100);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]`;
  const text = `${bar} ${String(pct).padStart(3)}% ${size(p.bytes)}/${size(p.totalBytes)} ${size(rate)}/s  ${p.files}/${p.totalFiles} files  `;
  const room = Math.max(0, width - text.length - 1);
  const current = p.current.length > room ? `...${p.current.slice(-(room - 3))}` : p.current;
  return `${text}${room > 3 ? current : ''}`;
}

/**
 * `port-linker cp [-r] SRC... DEST`: copies over SFTP on the daemon's connection to the host, with scp's rules
 * (mode and times kept, links followed). Exit 0, or 1 when something was not copied (each said on stderr).
 */
export async function cpCommand(
  args: string[],
  o: ConnectionFlags & { recursive?: boolean; quiet?: boolean },
  io: CommandIo,
): Promise<number> {
  let plan: ReturnType<typeof planCopy>;
  try {
    plan = planCopy(args, io.cwd);
  } catch (err) {
    io.stderr(`port-linker: ${(err as Error).message}\n`);
    return 2;
  }
  const { client } = await ensureDaemon(io.env, (line) => io.stderr(`${line}\n`));
  const { PortLinkerClient } = await import('@port-linker/client');
  const pl = new PortLinkerClient({ socket: client.socket });
  const tty = io.stderrIsTty && !o.quiet;
  const t0 = performance.now();
  let drawn = false;
  const width = process.stderr.columns ?? 100;
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  io.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const outcome = await pl.copy(
      { ...plan, recursive: o.recursive === true, ...connectionOptions(o, io.cwd) },
      tty
        ? (p) => {
            io.stderr(`\r${progressLine(p, performance.now() - t0, width)}\x1b[K`);
            drawn = true;
          }
        : undefined,
      abort.signal,
    );
    if (drawn) io.stderr('\n');
    for (const line of outcome.errors) io.stderr(`port-linker: ${line}\n`);
    if (tty) {
      const s = (performance.now() - t0) / 1000;
      io.stderr(`copied ${outcome.files} file(s), ${size(outcome.bytes)} in ${s.toFixed(1)} s\n`);
    }
    return outcome.errors.length > 0 ? 1 : 0;
  } catch (err) {
    if (drawn) io.stderr('\n');
    if (abort.signal.aborted) {
      io.stderr('port-linker: cp: interrupted (files copied so far are kept)\n');
      return 130;
    }
    io.stderr(`port-linker: cp ${plan.target}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    io.signal.removeEventListener('abort', onAbort);
  }
}
