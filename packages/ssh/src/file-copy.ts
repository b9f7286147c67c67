import { chmod as chmodLocal, mkdir, readdir, stat, utimes } from 'node:fs/promises';
import { basename, join as joinLocal, posix } from 'node:path';
import type { SFTPWrapper, Stats as SftpStats } from 'ssh2';
import type { SshConnection } from './connection.ts';
import { hostLabel } from './errors.ts';

/** One copy, as `port-linker cp` asks for it: every source on one side, the destination on the other. */
export interface CopyRequest {
  /** `up`: local sources to a remote destination; `down`: remote sources to a local destination. */
  direction: 'up' | 'down';
  /** Absolute local paths (up) or remote paths (down; relative to the login directory, `~/` allowed). */
  sources: string[];
  dest: string;
  /** Copy directories with their contents (`-r`). */
  recursive: boolean;
}

/** How far a copy has come (sent after every chunk, at most every 100 ms by the caller's choice). */
export interface CopyProgress {
  bytes: number;
  totalBytes: number;
  files: number;
  totalFiles: number;
  /** The file being copied (the destination path). */
  current: string;
}

export interface CopyResult {
  files: number;
  dirs: number;
  bytes: number;
  /** One line per source or entry that could not be copied (the rest was). */
  errors: string[];
}

interface FileOp {
  from: string;
  to: string;
  size: number;
  mode: number;
  atime: number;
  mtime: number;
}
interface DirOp {
  to: string;
  mode: number;
  atime: number;
  mtime: number;
}
interface Plan {
  dirs: DirOp[];
  files: FileOp[];
  errors: string[];
}

/** Files copied at once (each with its own pipelined reads or writes): small files are round-trip bound. */
const PARALLEL_FILES = 8;
/** Requests in flight per file and their size (ssh2's fastPut/fastGet). */
const FILE_CONCURRENCY = 32;
const CHUNK = 32 * 1024;

const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

/** An SFTP or file-system error as OpenSSH's scp words it: `path: No such file or directory`. */
function why(err: unknown): string {
  const e = err as { code?: string | number; message?: string };
  if (e.code === SFTP_NO_SUCH_FILE || e.code === 'ENOENT') return 'No such file or directory';
  if (e.code === SFTP_PERMISSION_DENIED || e.code === 'EACCES' || e.code === 'EPERM') return 'Permission denied';
  if (e.code === 'ENOTDIR') return 'Not a directory';
  if (e.code === 'ENOSPC') return 'No space left on device';
  if (e.code === 'EISDIR') return 'Is a directory';
  if (e.code === 'ELOOP') return 'Too many levels of symbolic links';
  return (e.message ?? String(err)).replace(/^[A-Z]+: /, '');
}

/** `~/x` and `~` are the login directory, which is where SFTP's relative paths start. */
export function remotePath(path: string): string {
  if (path === '' || path === '~' || path === '~/') return '.';
  if (path.startsWith('~/')) return path.slice(2) || '.';
  if (path.startsWith('~')) throw new Error(`${path}: another user's home (~user) is not supported: give the path`);
  return path;
}

function cb<T>(fn: (done: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}

/** The SFTP calls a copy needs, as promises. */
class Remote {
  constructor(readonly sftp: SFTPWrapper) {}
  stat(path: string): Promise<SftpStats> {
    return cb((d) => this.sftp.stat(path, d));
  }
  async statOrNone(path: string): Promise<SftpStats | undefined> {
    try {
      return await this.stat(path);
    } catch (err) {
      if ((err as { code?: number }).code === SFTP_NO_SUCH_FILE) return undefined;
      throw err;
    }
  }
  readdir(path: string): Promise<Array<{ filename: string; attrs: SftpStats }>> {
    return cb((d) => this.sftp.readdir(path, d));
  }
  async mkdir(path: string, mode: number): Promise<void> {
    try {
      await cb<void>((d) => this.sftp.mkdir(path, { mode }, d));
    } catch (err) {
      const s = await this.statOrNone(path).catch(() => undefined);
      if (!s?.isDirectory()) throw err;
    }
  }
  setstat(path: string, attrs: { mode: number; atime: number; mtime: number }): Promise<void> {
    return cb<void>((d) => this.sftp.setstat(path, attrs, d));
  }
  put(from: string, to: string, mode: number, step: (done: number) => void): Promise<void> {
    return cb<void>((d) =>
      this.sftp.fastPut(from, to, { concurrency: FILE_CONCURRENCY, chunkSize: CHUNK, mode, step: (t) => step(t) }, d),
    );
  }
  get(from: string, to: string, step: (done: number) => void): Promise<void> {
    return cb<void>((d) =>
      this.sftp.fastGet(from, to, { concurrency: FILE_CONCURRENCY, chunkSize: CHUNK, step: (t) => step(t) }, d),
    );
  }
}

/** Local stat of a source (symlinks followed, as scp does), with the message scp gives when it fails. */
async function planUp(remote: Remote, req: CopyRequest): Promise<Plan> {
  const plan: Plan = { dirs: [], files: [], errors: [] };
  const dest = remotePath(req.dest);
  const destStat = await remote.statOrNone(dest);
  const destIsDir = destStat?.isDirectory() === true;
  if (req.sources.length > 1 && !destIsDir)
    throw new Error(
      `${req.dest || '~'}: ${destStat ? 'Not a directory' : 'No such directory'} (several sources need a directory)`,
    );
  const walk = async (from: string, to: string, seen: Set<string>): Promise<void> => {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(from);
    } catch (err) {
      plan.errors.push(`${from}: ${why(err)}`);
      return;
    }
    const times = { atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000) };
    if (st.isFile()) {
      plan.files.push({ from, to, size: st.size, mode: st.mode & 0o7777, ...times });
      return;
    }
    if (!st.isDirectory()) {
      plan.errors.push(`${from}: not a regular file`);
      return;
    }
    if (!req.recursive) {
      plan.errors.push(`${from}: is a directory (use -r)`);
      return;
    }
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) {
      plan.errors.push(`${from}: a symbolic link loop (skipped)`);
      return;
    }
    plan.dirs.push({ to, mode: st.mode & 0o7777, ...times });
    let names: string[];
    try {
      names = (await readdir(from)).sort();
    } catch (err) {
      plan.errors.push(`${from}: ${why(err)}`);
      return;
    }
    const inner = new Set(seen).add(id);
    for (const name of names) await walk(joinLocal(from, name), posix.join(to, name), inner);
  };
  for (const src of req.sources) {
    const to = destIsDir ? posix.join(dest, basename(src.replace(/\/+$/, '')) || '.') : dest;
    await walk(src, to, new Set());
  }
  return plan;
}

async function planDown(remote: Remote, req: CopyRequest, label: string): Promise<Plan> {
  const plan: Plan = { dirs: [], files: [], errors: [] };
  let destIsDir = false;
  try {
    destIsDir = (await stat(req.dest)).isDirectory();
  } catch {}
  if (req.sources.length > 1 && !destIsDir)
    throw new Error(`${req.dest}: not a directory (several sources need a directory)`);
  const walk = async (from: string, to: string, seen: Set<string>, st?: SftpStats): Promise<void> => {
    if (!st) {
      try {
        st = await remote.stat(from);
      } catch (err) {
        plan.errors.push(`${label}:${from}: ${why(err)}`);
        return;
      }
    }
    const times = { atime: st.atime, mtime: st.mtime };
    if (st.isFile()) {
      plan.files.push({ from, to, size: st.size, mode: st.mode & 0o7777, ...times });
      return;
    }
    if (!st.isDirectory()) {
      plan.errors.push(`${label}:${from}: not a regular file`);
      return;
    }
    if (!req.recursive) {
      plan.errors.push(`${label}:${from}: is a directory (use -r)`);
      return;
    }
    // SFTP has no inode numbers: a loop through symlinks is caught by depth
    if (seen.size > 64) {
      plan.errors.push(`${label}:${from}: too deep (a symbolic link loop?)`);
      return;
    }
    plan.dirs.push({ to, mode: st.mode & 0o7777, ...times });
    let entries: Array<{ filename: string; attrs: SftpStats }>;
    try {
      entries = await remote.readdir(from);
    } catch (err) {
      plan.errors.push(`${label}:${from}: ${why(err)}`);
      return;
    }
    entries.sort((a, b) => (a.filename < b.filename ? -1 : 1));
    const inner = new Set(seen).add(from);
    for (const e of entries) {
      if (e.filename === '.' || e.filename === '..') continue;
      const path = posix.join(from, e.filename);
      // readdir's attributes are the link's own: follow links with a stat, as scp does
      await walk(path, joinLocal(to, e.filename), inner, e.attrs.isSymbolicLink() ? undefined : e.attrs);
    }
  };
  for (const raw of req.sources) {
    const src = remotePath(raw);
    const name = posix.basename(src.replace(/\/+$/, ''));
    // the login directory itself (`host:`) has no name of its own: its contents go into the destination
    const to = destIsDir && name !== '.' && name !== '' ? joinLocal(req.dest, name) : req.dest;
    await walk(src, to, new Set());
  }
  return plan;
}

/** Runs `fn` over `items`, `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  });
  await Promise.all(workers);
}

/**
 * Copies files over SFTP on an open connection, with OpenSSH scp's rules: into a destination directory under the
 * source's name, or onto the destination path; `-r` for directories (created as needed); symbolic links followed;
 * mode and times kept (like `scp -p`). A source or entry that fails is reported and the rest is copied.
 */
export async function copyFiles(
  conn: SshConnection,
  req: CopyRequest,
  onProgress: (p: CopyProgress) => void,
  signal?: AbortSignal,
): Promise<CopyResult> {
  const label = hostLabel(conn.host);
  const sftp = await conn.openSftp(req.direction === 'up' ? `copy to ${req.dest}` : `copy from ${req.sources[0]}`);
  const remote = new Remote(sftp);
  try {
    const plan = req.direction === 'up' ? await planUp(remote, req) : await planDown(remote, req, label);
    const totalBytes = plan.files.reduce((n, f) => n + f.size, 0);
    const progress: CopyProgress = { bytes: 0, totalBytes, files: 0, totalFiles: plan.files.length, current: '' };
    const where = (p: string) => (req.direction === 'up' ? `${label}:${p}` : p);
    const failedDirs = new Set<string>();
    for (const d of plan.dirs) {
      signal?.throwIfAborted();
      try {
        if (req.direction === 'up') await remote.mkdir(d.to, d.mode | 0o700);
        else
          await mkdir(d.to, { mode: d.mode | 0o700 }).catch(async (err: NodeJS.ErrnoException) => {
            if (err.code !== 'EEXIST' || !(await stat(d.to)).isDirectory()) throw err;
          });
      } catch (err) {
        plan.errors.push(`${where(d.to)}: ${why(err)}`);
        failedDirs.add(d.to);
      }
    }
    const inFailedDir = (p: string) => [...failedDirs].some((d) => p.startsWith(`${d}/`));
    let bytesDone = 0;
    await eachLimited(plan.files, PARALLEL_FILES, async (f) => {
      if (signal?.aborted || inFailedDir(f.to)) return;
      progress.current = where(f.to);
      let sent = 0;
      const step = (total: number) => {
        progress.bytes += total - sent;
        sent = total;
        onProgress(progress);
      };
      try {
        if (req.direction === 'up') {
          await remote.put(f.from, f.to, f.mode, step);
          await remote.setstat(f.to, { mode: f.mode, atime: f.atime, mtime: f.mtime });
        } else {
          await remote.get(f.from, f.to, step);
          await chmodLocal(f.to, f.mode);
          await utimes(f.to, f.atime, f.mtime);
        }
        progress.bytes += f.size - sent;
        bytesDone += f.size;
        progress.files++;
        onProgress(progress);
      } catch (err) {
        progress.bytes -= sent;
        const side = req.direction === 'up' ? where(f.to) : `${label}:${f.from}`;
        const e = err as { code?: string | number };
        // which side failed: the read of a source or the write of its copy
        const local = typeof e.code === 'string';
        plan.errors.push(`${local && req.direction === 'up' ? f.from : local ? f.to : side}: ${why(err)}`);
      }
    });
    signal?.throwIfAborted();
    // directories last, deepest first: writing their contents changed their times
    for (const d of [...plan.dirs].reverse()) {
      if (failedDirs.has(d.to)) continue;
      try {
        if (req.direction === 'up') await remote.setstat(d.to, { mode: d.mode, atime: d.atime, mtime: d.mtime });
        else {
          await chmodLocal(d.to, d.mode);
          await utimes(d.to, d.atime, d.mtime);
        }
      } catch (err) {
        plan.errors.push(`${where(d.to)}: ${why(err)}`);
      }
    }
    return { files: progress.files, dirs: plan.dirs.length - failedDirs.size, bytes: bytesDone, errors: plan.errors };
  } finally {
    sftp.end();
  }
}
