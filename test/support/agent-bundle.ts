// Test-only: makes sure packages/agent/dist/agent.cjs matches the sources before tests deploy it.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The agent build outputs (what deploy uploads). */
export const AGENT_DIST = join(ROOT, 'packages', 'agent', 'dist');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Rebuilds agent.cjs (12 ms with esbuild) when missing or older than the agent, scanner or proto sources. */
export function ensureAgentBundle(): string {
  const out = join(AGENT_DIST, 'agent.cjs');
  const sources = ['agent', 'scanner', 'proto', 'transport'].map((p) => newestSource(join(ROOT, 'packages', p, 'src')));
  if (!existsSync(out) || statSync(out).mtimeMs < Math.max(...sources)) {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs'), 'agent'], { stdio: 'inherit' });
  }
  return out;
}

/** The gzipped executable for `platform` when `npm run build:agents` built it, else undefined. */
export function builtExecutable(platform: string): string | undefined {
  const path = join(AGENT_DIST, 'bin', platform, 'port-linker-agent.gz');
  return existsSync(path) && existsSync(join(AGENT_DIST, 'manifest.json')) ? path : undefined;
}

/**
 * Whether `pid` is a live process. A zombie counts as gone: an agent whose sshd died is reparented to
 * init, and this machine's init reaps late, so `kill(pid, 0)` would still succeed for a second or more.
 */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
