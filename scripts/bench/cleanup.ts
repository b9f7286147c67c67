import type { ChildProcess } from 'node:child_process';
import { killTree } from '../../test/harness/index.ts';

type Closer = () => Promise<void> | void;

const children = new Set<ChildProcess>();
const closers: Closer[] = [];
let installed = false;
let stopping = false;

/** True once cleanup started (Ctrl-C): measurements should stop, and new children are killed at once. */
export function isStopping(): boolean {
  return stopping;
}

/** Remembers a child so that Ctrl-C or a crash kills it (and its descendants) by PID. */
export function track(child: ChildProcess): ChildProcess {
  if (stopping) {
    if (child.pid) killTree(child.pid, 'SIGKILL');
    return child;
  }
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Kills a tracked child's tree and waits for it to exit. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const gone = new Promise((r) => child.once('exit', r));
  killTree(child.pid, signal);
  const timer = setTimeout(() => child.pid && killTree(child.pid, 'SIGKILL'), 3000);
  await gone;
  clearTimeout(timer);
}

/** Registers something to close at exit (last registered closes first). */
export function onCleanup(fn: Closer): void {
  closers.push(fn);
}

/** Kills every tracked child and runs the closers; safe to call twice. */
export async function cleanupAll(): Promise<void> {
  stopping = true;
  for (const c of children) if (c.pid) killTree(c.pid, 'SIGKILL');
  for (const fn of closers.splice(0).reverse()) {
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`bench cleanup: ${(err as Error).message}\n`);
    }
  }
}

/** Cleans up on SIGINT/SIGTERM and exits 130/143. */
export function installSignalCleanup(): void {
  if (installed) return;
  installed = true;
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}, cleaning up...\n`);
      void cleanupAll().finally(() => process.exit(code));
    });
  }
}
