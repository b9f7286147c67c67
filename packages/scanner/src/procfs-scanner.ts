import { readdirSync, readlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { SocketProtocol } from '@port-linker/proto';
import { ScannerError } from './errors.ts';
import { linuxProcessLabel } from './process-label.ts';
import { PROC_NET_FILES, parseProcNetFile } from './procfs-parser.ts';
import type { Scanner, ScannerLog, ScannerOptions, ScanOptions, ScanResult } from './scanner-types.ts';
import type { ParseResult } from './socket-rows.ts';
import { toScanResult } from './socket-rows.ts';

/** Options of the procfs scanner; `procRoot` points tests at a fake /proc tree. */
export interface ProcfsScannerOptions extends ScannerOptions {
  procRoot?: string;
}

/** Counters that show the inode cache at work (a rescan with nothing new must not add an fd walk). */
export interface ProcfsScannerStats {
  scans: number;
  /** Walks over /proc/<pid>/fd started because an unseen inode appeared. */
  fdWalks: number;
  /** Process fd directories read, over all walks. */
  pidsVisited: number;
  /** Inodes whose owner label is cached ('' for sockets no visible process owns). */
  cachedInodes: number;
}

interface CachedOwner {
  label: string;
  protocol: SocketProtocol;
}

/** A /proc/net read returning fewer bytes than this was the last one (see #readWhole). */
const SEQ_EOF_BELOW = 2048;
/** How many processes the fd walk reads between two yields to the event loop. */
const WALK_BATCH = 64;

/**
 * Linux procfs backend: reads /proc/net/{tcp,tcp6,udp,udp6}, and names each socket's process by finding its
 * inode among the `socket:[inode]` links of /proc/<pid>/fd, then reading /proc/<pid>/comm. Owner labels are
 * cached per inode (evicted when the socket is gone), so a rescan that finds no new inode reads only the four
 * files. A new inode triggers one walk, which visits processes started since the last walk first, then known
 * socket owners, then the rest (newest first), and stops once every new inode is found; inodes no visible process owns are cached as '' (other users'
 * processes when not root) so they do not trigger a walk on every scan.
 */
export class ProcfsScanner implements Scanner {
  readonly backend = 'procfs' as const;
  readonly #root: string;
  readonly #log: ScannerLog | undefined;
  readonly #littleEndian = endianness() === 'LE';
  readonly #owners = new Map<number, CachedOwner>();
  #ownerPids = new Set<number>();
  /** Highest pid at the previous walk: pids above it started since. */
  #maxPid = 0;
  readonly #stats: ProcfsScannerStats = { scans: 0, fdWalks: 0, pidsVisited: 0, cachedInodes: 0 };
  /** One reusable read buffer per /proc/net file (they are read in parallel), grown when a file outgrows it. */
  readonly #buffers = new Map<string, Buffer>();

  constructor(options: ProcfsScannerOptions = {}) {
    this.#root = options.procRoot ?? '/proc';
    this.#log = options.log;
  }

  /** A snapshot of the cache counters. */
  get stats(): ProcfsScannerStats {
    return { ...this.#stats, cachedInodes: this.#owners.size };
  }

  async scan(options: ScanOptions): Promise<ScanResult> {
    this.#stats.scans++;
    const files = PROC_NET_FILES.filter((f) => options[f.protocol]);
    const texts = await Promise.all(files.map((f) => this.#readNetFile(f.name)));
    const parts: ParseResult[] = files.map((f, i) =>
      parseProcNetFile(
        texts[i] ?? '',
        f.protocol,
        (line, reason) => this.#log?.('debug', `scanner: procfs ${f.name}: ${reason}: ${JSON.stringify(line)}`),
        this.#littleEndian,
      ),
    );
    const present = new Set<number>();
    const unseen = new Map<number, SocketProtocol>();
    for (const part of parts) {
      for (const row of part.rows) {
        if (row.inode === 0) continue;
        present.add(row.inode);
        if (!this.#owners.has(row.inode)) unseen.set(row.inode, row.protocol);
      }
    }
    for (const [inode, owner] of this.#owners) {
      if (options[owner.protocol] && !present.has(inode)) this.#owners.delete(inode);
    }
    if (unseen.size > 0) await this.#walk(unseen);
    for (const part of parts) {
      for (const row of part.rows) row.process = this.#owners.get(row.inode)?.label ?? '';
    }
    return toScanResult(parts);
  }

  close(): void {
    this.#buffers.clear();
    this.#owners.clear();
    this.#ownerPids.clear();
  }

  async #readNetFile(name: string): Promise<string> {
    const path = `${this.#root}/net/${name}`;
    try {
      return await this.#readWhole(name, path);
    } catch (err) {
      // tcp6/udp6 are absent when IPv6 is disabled: that is an empty list, not a failure.
      if (name.endsWith('6') && (err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw new ScannerError(
        'procfs',
        `cannot read ${path}: ${(err as Error).message}; use the ss or netstat backend`,
        {
          cause: err,
        },
      );
    }
  }

  /**
   * Reads a /proc/net file with as few read() calls as possible. The kernel's seq_file hands out at most its own
   * buffer (one page, 4 KiB here) per call, and the call that reaches the established-connections part walks
   * every TCP hash bucket (262,144 here: ~1.7 ms even for an empty tcp6). A read only ends short of a full
   * buffer at end of file (seq_read_iter stops early only on EOF, error or a full buffer, and records are
   * under 200 bytes), so a read under SEQ_EOF_BELOW bytes is the last one: skipping the extra EOF read saves a
   * second bucket walk.
   */
  async #readWhole(name: string, path: string): Promise<string> {
    let buf = this.#buffers.get(name) ?? Buffer.allocUnsafe(256 * 1024);
    const file = await open(path, 'r');
    try {
      let length = 0;
      for (;;) {
        if (length === buf.length) {
          const bigger = Buffer.allocUnsafe(buf.length * 2);
          buf.copy(bigger, 0, 0, length);
          buf = bigger;
        }
        const { bytesRead } = await file.read(buf, length, buf.length - length, null);
        length += bytesRead;
        if (bytesRead < SEQ_EOF_BELOW) break;
      }
      this.#buffers.set(name, buf);
      return buf.toString('latin1', 0, length);
    } finally {
      await file.close();
    }
  }

  /** Finds the owning process of each wanted inode; see the class comment for the visiting order. */
  async #walk(wanted: Map<number, SocketProtocol>): Promise<void> {
    this.#stats.fdWalks++;
    let entries: string[];
    try {
      entries = readdirSync(this.#root);
    } catch (err) {
      this.#log?.('debug', `scanner: procfs: cannot list ${this.#root}: ${(err as Error).message}`);
      entries = [];
    }
    const all = entries
      .filter((e) => /^\d+$/.test(e))
      .map(Number)
      .sort((a, b) => b - a);
    // New listeners mostly come from new processes, then from processes that already own sockets.
    const lastMax = this.#maxPid;
    const started = all.filter((pid) => pid > lastMax);
    const known = all.filter((pid) => pid <= lastMax && this.#ownerPids.has(pid));
    const rest = all.filter((pid) => pid <= lastMax && !this.#ownerPids.has(pid));
    this.#maxPid = all[0] ?? 0;
    const found = new Map<number, number>();
    const owners = new Set(all.filter((pid) => this.#ownerPids.has(pid)));
    let visited = 0;
    for (const pid of [...started, ...known, ...rest]) {
      if (found.size === wanted.size) break;
      if (++visited % WALK_BATCH === 0) await new Promise((resolve) => setImmediate(resolve));
      const dir = `${this.#root}/${pid}/fd`;
      let fds: string[];
      try {
        fds = readdirSync(dir);
      } catch {
        owners.delete(pid);
        continue; // exited, or another user's process
      }
      this.#stats.pidsVisited++;
      for (const fd of fds) {
        let link: string;
        try {
          link = readlinkSync(`${dir}/${fd}`);
        } catch {
          continue;
        }
        if (!link.startsWith('socket:[')) continue;
        const inode = Number(link.slice(8, -1));
        if (wanted.has(inode) && !found.has(inode)) {
          found.set(inode, pid);
          owners.add(pid);
        }
      }
    }
    const labels = new Map<number, string>();
    for (const [inode, protocol] of wanted) {
      const pid = found.get(inode);
      let label = '';
      if (pid !== undefined) {
        label = labels.get(pid) ?? linuxProcessLabel(pid, this.#root);
        labels.set(pid, label);
      }
      this.#owners.set(inode, { label, protocol });
    }
    this.#ownerPids = owners;
  }
}
