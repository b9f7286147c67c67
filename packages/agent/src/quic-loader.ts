import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { AgentOptions } from './agent-options.ts';
import type { QuicListener, QuicLoader } from './transport-feature.ts';

/** Where agent-quic.cjs finds its addon path (scripts/bundle.mjs `quicAddonFromPath`; docs/vendor-patches.md Q4). */
const ADDON_PATH_KEY = Symbol.for('port-linker.quic-addon');

/** SEA asset names of the QUIC bundle and this platform's addon (scripts/build-agents.mjs embeds them). */
export const QUIC_ASSETS = { bundle: 'agent-quic.cjs', addon: `quic-${process.platform}-${process.arch}.node` };

interface QuicModule {
  listenQuic(host?: string): Promise<QuicListener>;
}

/**
 * The agent's QuicLoader for `--quic-bundle/--quic-addon` (uploaded files) or `--quic-embedded` (assets of this
 * single executable, written once into a private directory next to it); undefined when QUIC was not asked for.
 * Nothing is loaded before the loader runs; a failure (missing file, glibc too old, ...) rejects, which the
 * transport feature logs as "quic not offered".
 */
export function quicLoader(from: AgentOptions['quic']): QuicLoader | undefined {
  if (!from) return undefined;
  return async () => {
    const files = from === 'embedded' ? extractEmbedded() : from;
    (globalThis as Record<symbol, unknown>)[ADDON_PATH_KEY] = files.addon;
    // createRequire: in a single executable the plain `require` only loads builtins
    const mod = createRequire(files.bundle)(files.bundle) as QuicModule;
    return mod.listenQuic();
  };
}

/** Writes the embedded QUIC assets to `<dir of this executable>/quic/<sha256>` (0600, dir 0700) unless there. */
function extractEmbedded(): { bundle: string; addon: string } {
  const sea = createRequire(process.execPath)('node:sea') as typeof import('node:sea');
  if (!sea.isSea()) throw new Error('--quic-embedded works only in the single executable');
  // the executable lives in the private, content-addressed agent cache (0700): its quic/ subdirectory is private too
  const dir = join(dirname(process.execPath), 'quic');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0)
    throw new Error(`${dir} is not a private directory (owner only, 0700)`);
  return {
    bundle: materialize(dir, sea.getAsset(QUIC_ASSETS.bundle)),
    addon: materialize(dir, sea.getAsset(QUIC_ASSETS.addon)),
  };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** `dir/<sha256 of bytes>`, written (temp file, then rename) only when missing or not matching its name. */
function materialize(dir: string, asset: ArrayBuffer): string {
  const bytes = new Uint8Array(asset);
  const hash = sha256(bytes);
  const path = join(dir, hash);
  try {
    if (sha256(readFileSync(path)) === hash) return path;
  } catch {
    // not there yet
  }
  const tmp = join(dir, `.tmp-${randomBytes(12).toString('hex')}`);
  try {
    writeFileSync(tmp, bytes, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
  return path;
}
