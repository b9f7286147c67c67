import { closeSync, openSync, readSync, statSync, watch } from 'node:fs';
import type { LogRecord } from '@port-linker/client';
import type { CommandIo } from './command-io.ts';
import { clientFor } from './daemon-client.ts';

/** One log record as a line for people. */
export function formatRecord(r: LogRecord): string {
  const { ts, level, host, msg, ...fields } = r;
  const extra = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : v}`)
    .join('');
  return `${ts} ${level.toUpperCase().padEnd(5)} ${host ? `${host}: ` : ''}${msg}${extra}`;
}

/**
 * `port-linker logs [-f] [-n N] [profile|host]`: the daemon's log (the last N lines, default 100), for one host or
 * all; `-f` follows new lines until Ctrl-C.
 */
export async function logsCommand(
  name: string | undefined,
  opts: { follow?: boolean; lines: number },
  io: CommandIo,
): Promise<number> {
  const { paths } = clientFor(io.env);
  const keep = (r: LogRecord) => name === undefined || r.host === name;
  let offset = 0;
  let partial = '';
  const readNew = (): LogRecord[] => {
    let size: number;
    try {
      size = statSync(paths.log).size;
    } catch {
      return [];
    }
    if (size < offset) offset = 0; // rotated
    if (size === offset) return [];
    const fd = openSync(paths.log, 'r');
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    closeSync(fd);
    offset = size;
    const text = partial + buf.toString('utf8');
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    const out: LogRecord[] = [];
    for (const l of lines) {
      try {
        const r = JSON.parse(l) as LogRecord;
        if (keep(r)) out.push(r);
      } catch {}
    }
    return out;
  };
  const first = readNew();
  if (first.length === 0 && !opts.follow) {
    try {
      statSync(paths.log);
    } catch {
      io.stderr(`logs: no daemon log yet (${paths.log}): start the daemon with \`port-linker up\`\n`);
      return 1;
    }
  }
  for (const r of first.slice(-opts.lines)) io.stdout(`${formatRecord(r)}\n`);
  if (!opts.follow) return 0;
  await new Promise<void>((resolve) => {
    const flush = () => {
      for (const r of readNew()) io.stdout(`${formatRecord(r)}\n`);
    };
    // fs.watch misses some changes on some file systems: a slow poll backs it up
    const timer = setInterval(flush, 500);
    let watcher: ReturnType<typeof watch> | undefined;
    try {
      watcher = watch(paths.stateDir, flush);
    } catch {}
    io.signal.addEventListener(
      'abort',
      () => {
        clearInterval(timer);
        watcher?.close();
        resolve();
      },
      { once: true },
    );
  });
  return 0;
}
