import { readdirSync, readFileSync } from 'node:fs';

/** Every descendant PID of `pid` (children first-level first), read from /proc/PID/task/TID/children. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number) => {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let kids = '';
      try {
        kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.split(' ').filter(Boolean)) {
        const child = Number(k);
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

/** Sends `signal` to `pid` and all its descendants (deepest last-born first), ignoring the already gone. */
export function killTree(pid: number, signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const p of [...descendants(pid).reverse(), pid]) {
    try {
      process.kill(p, signal);
    } catch {
      // already exited
    }
  }
}
