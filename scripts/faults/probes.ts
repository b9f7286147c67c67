import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { descendants } from '../../test/harness/process-tree.ts';
import { oneConnection } from '../bench/net-probe.ts';

/** Polls `check` every 20 ms until it holds; resolves with the ms it took, rejects after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await check().catch(() => false)) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True when a new connection to 127.0.0.1:port gets its 64 bytes echoed within `timeoutMs`. */
export async function echoes(port: number, timeoutMs = 1000): Promise<boolean> {
  await oneConnection(port, timeoutMs);
  return true;
}

/** Open file descriptors of a process. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident memory of a process, MB. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** TCP sockets in LISTEN state that `pid` or its child processes own (on this machine's network namespace). */
export function listenerCount(pid: number): number {
  return listeners(pid).length;
}

/**
 * The local addresses (`127.0.0.1:8080`) of the TCP sockets in LISTEN state that `pid` owns, sorted: its child
 * processes' too (the OpenSSH ControlMaster of `--data-path openssh`/auto holds the listeners of the forwards it
 * carries).
 */
export function listeners(pid: number): string[] {
  const out = execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' });
  const owners = [pid, ...descendants(pid)].map((p) => `pid=${p},`);
  return out
    .split('\n')
    .filter((l) => owners.some((o) => l.includes(o)))
    .map((l) => l.trim().split(/\s+/)[3] ?? '?')
    .sort();
}

/** What changed between two listener lists, `+a -b`, or '' when nothing did. */
export function listenerDiff(before: string[], after: string[]): string {
  const added = after.filter((a) => !before.includes(a)).map((a) => `+${a}`);
  const gone = before.filter((b) => !after.includes(b)).map((b) => `-${b}`);
  return [...added, ...gone].join(' ');
}
