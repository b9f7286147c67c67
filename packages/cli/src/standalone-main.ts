/**
 * The entry of the standalone executables (`port-linker-<platform>`, Node single-executable applications built by
 * scripts/build-standalone.mjs). The CLI inside is the same bundle as the npm package's, made CommonJS; what the
 * package reads from files next to its code (the agent artifacts, the dashboard page) travels as SEA assets. They
 * are written on first use to a private cache directory named by the build's id, and found through the
 * `port-linker.standalone-assets` hook (AgentArtifacts.defaultDir, dashboardAssetsDir).
 */
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { getAsset } from 'node:sea';

/** The asset index the build writes (`standalone.json`): the build id and every other asset's relative path. */
interface AssetIndex {
  id: string;
  files: string[];
}

let extracted: string | undefined;

/** Writes the assets out once (atomically: a temporary directory renamed into place) and returns the directory. */
function assetsDir(): string {
  if (extracted) return extracted;
  const index = JSON.parse(getAsset('standalone.json', 'utf8')) as AssetIndex;
  const base = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'port-linker', 'standalone');
  const dir = join(base, index.id);
  if (!existsSync(join(dir, '.complete'))) {
    mkdirSync(base, { recursive: true, mode: 0o700 });
    chmodSync(base, 0o700);
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    for (const file of index.files) {
      const path = join(tmp, file);
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      writeFileSync(path, new Uint8Array(getAsset(file)), { mode: 0o600 });
    }
    writeFileSync(join(tmp, '.complete'), `${index.id}\n`, { mode: 0o600 });
    try {
      renameSync(tmp, dir);
    } catch {
      // another process put the same build's assets in place first: use them
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(join(dir, '.complete'))) throw new Error(`cannot write the standalone assets to ${dir}`);
    }
  }
  extracted = dir;
  return dir;
}

(globalThis as Record<symbol, unknown>)[Symbol.for('port-linker.standalone-assets')] = assetsDir;
void import('./main.ts');
