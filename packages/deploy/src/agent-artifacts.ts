import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

/** Platforms the single executables are built for (`<os>-<arch>` in Node's spelling). */
export const AGENT_PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64'] as const;

/** Platforms whose remotes can get QUIC (the @matrixai/quic addon prebuilt for them and shipped by this build). */
export const QUIC_PLATFORMS = ['linux-x64'] as const;

/** One uploadable agent file: the bundled script, a platform's executable, or a QUIC part (bundle or addon). */
export interface AgentArtifact {
  kind: 'script' | 'binary' | 'quic';
  /** Platform of an executable; undefined for the script (runs on any Node >= 18). */
  platform?: string;
  /** SHA-256 (hex) of the file as it must be on the remote, uncompressed: also its cache name. */
  sha256: string;
  /** Uncompressed size in bytes. */
  size: number;
  /** The bytes to upload, gzip-compressed. */
  gzipped(): Promise<Uint8Array>;
  /** The bytes uncompressed (for remotes without gzip; executables are shipped only compressed). */
  raw(): Promise<Uint8Array | undefined>;
  /** An executable with the QUIC bundle and addon embedded as assets (`--quic-embedded`). */
  quic?: boolean;
}

/** The QUIC side of a node-mode agent: `agent-quic.cjs` and the platform's native addon. */
export interface QuicArtifacts {
  bundle: AgentArtifact;
  addon: AgentArtifact;
}

interface ManifestBinary {
  platform: string;
  file: string;
  size: number;
  sha256: string;
  quic?: boolean;
}

/**
 * The agent build outputs on this machine: `agent.cjs` (hashed on each lookup, so a rebuilt bundle
 * is never served under a stale name) and `bin/<platform>/port-linker-agent.gz` as listed in
 * `manifest.json` by `npm run build:agents`.
 */
export class AgentArtifacts {
  readonly dir: string;

  /** Reads from `dir` (default: the agent package's dist, found relative to this code). */
  constructor(dir: string = AgentArtifacts.defaultDir()) {
    this.dir = dir;
  }

  /**
   * `packages/agent/dist` seen from here: the nearest `agent/dist/` holding a build output in a folder above this
   * file. This code runs from `packages/deploy/src/`, from the CLI bundle's `packages/cli/dist/` or from one of its
   * chunks in `packages/cli/dist/chunks/`, so a fixed relative path would be right for only some of them.
   */
  static defaultDir(from?: string): string {
    // the standalone executable carries them as SEA assets, written out on first use (cli/src/standalone-main.ts)
    const standalone = (globalThis as Record<symbol, unknown>)[Symbol.for('port-linker.standalone-assets')];
    if (from === undefined && typeof standalone === 'function')
      return join((standalone as () => string)(), 'agent', 'dist') + sep;
    from ??= fileURLToPath(import.meta.url);
    let dir = dirname(from);
    for (;;) {
      const candidate = join(dir, 'agent', 'dist');
      if (existsSync(join(candidate, 'agent.cjs')) || existsSync(join(candidate, 'manifest.json')))
        return candidate + sep;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
    return fileURLToPath(new URL('../../agent/dist/', pathToFileURL(from)));
  }

  /** The bundled script, or undefined when the agent was not built (`npm run build`). */
  script(): AgentArtifact | undefined {
    return this.#file('script', 'agent.cjs');
  }

  /** `agent-quic.cjs` and `quic-<platform>.node` for a node-mode agent on `platform`, or undefined when not built. */
  quic(platform: string): QuicArtifacts | undefined {
    if (!(QUIC_PLATFORMS as readonly string[]).includes(platform)) return undefined;
    const bundle = this.#file('quic', 'agent-quic.cjs');
    const addon = this.#file('quic', `quic-${platform}.node`, platform);
    return bundle && addon ? { bundle, addon } : undefined;
  }

  /** A file of `dir` hashed now (a rebuilt file is never served under a stale name); gzip made on demand. */
  #file(kind: 'script' | 'quic', name: string, platform?: string): AgentArtifact | undefined {
    const path = join(this.dir, name);
    if (!existsSync(path)) return undefined;
    const bytes = readFileSync(path);
    return {
      kind,
      ...(platform ? { platform } : {}),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.byteLength,
      gzipped: async () => gzipSync(bytes, { level: 9 }),
      raw: async () => bytes,
    };
  }

  /** The executable for `platform` (e.g. `linux-x64`), or undefined when not built. */
  binary(platform: string): AgentArtifact | undefined {
    const entry = this.#manifest().find((b) => b.platform === platform);
    if (!entry) return undefined;
    const path = join(this.dir, entry.file);
    if (!existsSync(path)) return undefined;
    return {
      kind: 'binary',
      platform,
      sha256: entry.sha256,
      size: entry.size,
      gzipped: () => readFile(path),
      raw: async () => undefined,
      ...(entry.quic ? { quic: true } : {}),
    };
  }

  /** Platforms with a built executable. */
  platforms(): string[] {
    return this.#manifest()
      .filter((b) => existsSync(join(this.dir, b.file)))
      .map((b) => b.platform);
  }

  #manifest(): ManifestBinary[] {
    try {
      const m = JSON.parse(readFileSync(join(this.dir, 'manifest.json'), 'utf8')) as { binaries?: ManifestBinary[] };
      return Array.isArray(m.binaries) ? m.binaries : [];
    } catch {
      return [];
    }
  }
}
