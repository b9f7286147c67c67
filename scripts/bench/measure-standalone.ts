import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import { run } from '../../test/harness/index.ts';
import type { Side } from './bench-types.ts';
import { percentile } from './stats.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const RUNS = 20;

/** The standalone executable for this machine, built when missing (scripts/build-standalone.mjs). */
async function standalone(): Promise<string> {
  const name = `${platform()}-${arch()}`;
  const exe = join(ROOT, 'dist', 'standalone', `port-linker-${name}`);
  if (!existsSync(exe)) await run([process.execPath, join(ROOT, 'scripts/build-standalone.mjs'), '--platforms', name]);
  return exe;
}

/**
 * Size and start time of one program: OpenSSH's `ssh -V` (its client binary) against the standalone
 * `port-linker --version` (Node and the CLI in one file); median wall time of 20 runs, in ms.
 */
export async function standaloneFigures(side: Side): Promise<{ size: number; version: number }> {
  const exe = side === 'openssh' ? (await run(['sh', '-c', 'command -v ssh'])).stdout.trim() : await standalone();
  const args = side === 'openssh' ? ['-V'] : ['--version'];
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync(exe, args, { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${exe} ${args.join(' ')} exited ${r.status}`);
    ms.push(performance.now() - t0);
  }
  return { size: statSync(exe).size / 1e6, version: percentile(ms, 50) };
}
