import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** Platforms the single executables are built for (`<os>-<arch>` in Node's spelling). */
export const AGENT_PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64'] as const;

/** One uploadable agent: the bundled script or a platform's executable. */
export interface AgentArtifact {
  kind: 'script' | 'binary';
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
}

interface ManifestBinary {
  platform: string;
  file: string;
  size: number;
  sha256: string;
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
   * `packages/agent/dist` seen from here: `src/` under packages/deploy and `dist/` under
   * packages/cli (the bundled CLI) are both two levels below `packages/`.
   */
  static defaultDir(): string {
    return fileURLToPath(new URL('../../agent/dist/', import.meta.url));
  }

  /** The bundled script, or undefined when the agent was not built (`npm run build`). */
  script(): AgentArtifact | undefined {
    const path = join(this.dir, 'agent.cjs');
    if (!existsSync(path)) return undefined;
    const bytes = readFileSync(path);
    return {
      kind: 'script',
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
