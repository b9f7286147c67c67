import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ListeningSocket } from '@port-linker/proto';
import {
  compareSockets,
  diffScans,
  groupPorts,
  parseRemoteScanOutput,
  remoteScanScript,
  type ScanResult,
} from '@port-linker/scanner';
import { RemoteHost, run, waitFor } from './harness/index.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..');
const OPEN_SOCKETS = join(REPO, 'fixtures/scanner/open-sockets.py');
const SERVICE = join(HERE, 'harness/service.mjs');
const SCANNER_URL = pathToFileURL(join(REPO, 'packages/scanner/src/index.ts')).href;

/**
 * Runs inside the namespace: builds a scanner (a backend name, or `detect`), then answers each `scan` line on
 * stdin with one JSON line {backend, result, stats, ms}.
 */
const child = (scannerUrl: string) => `
const m = await import(${JSON.stringify(scannerUrl)});
const which = process.argv[1];
const scanner = which === 'detect' ? await m.detectScanner() : m.createScanner(which);
const rl = (await import('node:readline')).createInterface({ input: process.stdin });
for await (const line of rl) {
  if (line !== 'scan') continue;
  const t0 = performance.now();
  try {
    const result = await scanner.scan({ tcp: true, udp: true });
    const ms = performance.now() - t0;
    process.stdout.write(JSON.stringify({ backend: scanner.backend, result, stats: scanner.stats ?? null, ms }) + '\\n');
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: String(err && err.message) }) + '\\n');
  }
}
`;

/** What a process of another user needs, copied where it can read it: a bundled scanner and the socket fixture. */
interface UnprivilegedCopy {
  dir: string;
  scanner: string;
  openSockets: string;
}

/** Copies the scanner (bundled with esbuild) and open-sockets.py into a fresh 0755 directory under the temp dir. */
async function unprivilegedCopy(): Promise<UnprivilegedCopy> {
  const dir = mkdtempSync(join(tmpdir(), 'scanner-unpriv-'));
  chmodSync(dir, 0o755);
  const scanner = join(dir, 'scanner.mjs');
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(REPO, 'packages/scanner/src/index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: scanner,
    logLevel: 'error',
  });
  const openSockets = join(dir, 'open-sockets.py');
  copyFileSync(OPEN_SOCKETS, openSockets);
  for (const f of [scanner, openSockets]) chmodSync(f, 0o644);
  return { dir, scanner, openSockets };
}

interface ChildAnswer {
  backend: string;
  result: ScanResult;
  stats: { fdWalks: number; cachedInodes: number } | null;
  ms: number;
  error?: string;
}

/** A scanner process inside the namespace (optionally as another user) that scans on request. */
class ScannerChild {
  readonly #child: ChildProcess;
  readonly #answers: string[] = [];
  readonly #waiters: Array<(line: string) => void> = [];
  /** As another user, the scanner runs from `unprivileged` (a world-readable copy: the checkout may not be). */
  constructor(host: RemoteHost, backend: string, asUser?: number, unprivileged?: UnprivilegedCopy) {
    const prefix = asUser === undefined ? [] : ['setpriv', `--reuid=${asUser}`, `--regid=${asUser}`, '--clear-groups'];
    const code = unprivileged ? child(pathToFileURL(unprivileged.scanner).href) : child(SCANNER_URL);
    this.#child = host.spawn([
      ...prefix,
      process.execPath,
      ...(unprivileged ? [] : ['--import', 'tsx']),
      '--input-type=module',
      '-e',
      code,
      backend,
    ]);
    createInterface({ input: this.#child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const w = this.#waiters.shift();
      if (w) w(line);
      else this.#answers.push(line);
    });
  }
  async scan(): Promise<ChildAnswer> {
    this.#child.stdin?.write('scan\n');
    const line =
      this.#answers.shift() ??
      (await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('scanner child did not answer in 20 s')), 20_000);
        this.#waiters.push((l) => {
          clearTimeout(timer);
          resolve(l);
        });
      }));
    const answer = JSON.parse(line) as ChildAnswer;
    if (answer.error) throw new Error(`scanner child: ${answer.error}`);
    return answer;
  }
  close(): void {
    this.#child.stdin?.end();
  }
}

/** Starts a process in the namespace and waits until it prints `ready`. */
async function startReady(host: RemoteHost, argv: string[]): Promise<ChildProcess> {
  const child = host.spawn(argv);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d;
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`${argv.join(' ')} exited ${code}: ${err.trim()}`)));
  });
  return child;
}

const sock = (protocol: 'tcp' | 'udp', port: number, address: string, process: string): ListeningSocket => ({
  protocol,
  port,
  address,
  process,
});
const sortKey = (s: ListeningSocket) => `${s.protocol} ${String(s.port).padStart(5, '0')} ${s.address}`;
const sorted = (list: readonly ListeningSocket[]) => [...list].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));

describe('scanner live: every kind of socket in a harness namespace, every backend on this machine', () => {
  let host: RemoteHost;
  let linkDir: string;
  let unprivileged: UnprivilegedCopy;
  /** What the namespace listens on, with comm-based names (the long name as the scanners resolve it). */
  let expected: ListeningSocket[];
  const V6 = 'fd5c:a11::2';

  before(async () => {
    host = await RemoteHost.start();
    await host.exec(['ip', 'addr', 'add', `${V6}/64`, 'dev', `${host.ns}b`, 'nodad']);
    const py = ['python3', OPEN_SOCKETS];
    const a = host.address;
    await startReady(host, [...py, '--name', 'web-a', 'tcp:0.0.0.0:7001', 'tcp6only:[::]:7001', 'udp:0.0.0.0:7001']);
    await startReady(host, [
      ...py,
      '--name',
      'loop-svc',
      'tcp:127.0.0.1:7002',
      'tcp6only:[::1]:7002',
      'udp:127.0.0.1:7002',
      'udp6only:[::1]:7003',
    ]);
    await startReady(host, [
      ...py,
      '--name',
      'specific',
      `tcp:${a}:7004`,
      `tcp6only:[${V6}]:7004`,
      `udp:${a}:7004`,
      `udp6only:[${V6}]:7005`,
    ]);
    await startReady(host, [...py, '--name', 'mapped', 'tcp:[::ffff:127.0.0.1]:7006', 'udp:[::ffff:127.0.0.1]:7006']);
    await startReady(host, [...py, '--name', 'lo-other', 'tcp:127.0.0.5:7007', 'udp:127.0.0.53:7053']);
    await startReady(host, [...py, '--name', 'dual', 'tcp:[::]:7008', 'udp:[::]:7008']);
    await startReady(host, [...py, '--name', 'reuse', 'tcpreuse:0.0.0.0:7009']);
    await startReady(host, [...py, '--name', 'reuse', 'tcpreuse:0.0.0.0:7009']);
    await host.serve('tcp-listen', 7010, '0.0.0.0');
    await host.serve('udp-echo', 7011, '::1');
    host.spawn(['socat', 'TCP-LISTEN:7012,bind=127.0.0.1,fork,reuseaddr', 'EXEC:/bin/cat']);
    host.spawn(['socat', '-u', 'UDP6-RECV:7013,bind=[::]', 'OPEN:/dev/null']);
    linkDir = mkdtempSync(join(tmpdir(), 'scanner-live-'));
    unprivileged = await unprivilegedCopy();
    const longName = join(linkDir, 'a-very-long-process-name');
    symlinkSync(process.execPath, longName);
    await startReady(host, [longName, SERVICE, 'tcp-listen', '7015', '0.0.0.0']);
    await startReady(host, [...py, '--name', 'client', 'connect:127.0.0.1:7001', 'udpconnect:127.0.0.1:7002']);
    await waitFor(
      async () =>
        (await host.exec(['ss', '-Htuln', 'sport', '= :7012', 'or', 'sport', '= :7013'])).stdout.trim().split('\n')
          .length >= 2,
      'socat to listen',
    );
    expected = sorted([
      sock('tcp', 22, a, 'sshd'),
      sock('tcp', 7001, '0.0.0.0', 'web-a'),
      sock('tcp', 7001, '::', 'web-a'),
      sock('tcp', 7002, '127.0.0.1', 'loop-svc'),
      sock('tcp', 7002, '::1', 'loop-svc'),
      sock('tcp', 7004, a, 'specific'),
      sock('tcp', 7004, V6, 'specific'),
      sock('tcp', 7006, '127.0.0.1', 'mapped'),
      sock('tcp', 7007, '127.0.0.5', 'lo-other'),
      sock('tcp', 7008, '::', 'dual'),
      sock('tcp', 7009, '0.0.0.0', 'reuse'),
      sock('tcp', 7010, '0.0.0.0', 'node'),
      sock('tcp', 7012, '127.0.0.1', 'socat'),
      sock('tcp', 7015, '0.0.0.0', 'a-very-long-process-name'),
      sock('udp', 7001, '0.0.0.0', 'web-a'),
      sock('udp', 7002, '127.0.0.1', 'loop-svc'),
      sock('udp', 7003, '::1', 'loop-svc'),
      sock('udp', 7004, a, 'specific'),
      sock('udp', 7005, V6, 'specific'),
      sock('udp', 7006, '127.0.0.1', 'mapped'),
      sock('udp', 7008, '::', 'dual'),
      sock('udp', 7011, '::1', 'node'),
      sock('udp', 7013, '::', 'socat'),
      sock('udp', 7053, '127.0.0.53', 'lo-other'),
    ]);
  });

  after(async () => {
    await host?.close();
    if (linkDir) rmSync(linkDir, { recursive: true, force: true });
    if (unprivileged) rmSync(unprivileged.dir, { recursive: true, force: true });
  });

  for (const backend of ['procfs', 'ss', 'netstat'] as const) {
    test(`${backend} backend reports exactly the expected set, with process names`, async () => {
      const child = new ScannerChild(host, backend);
      try {
        const { result, backend: used } = await child.scan();
        assert.equal(used, backend);
        assert.equal(result.malformed, 0);
        assert.deepEqual(sorted(result.sockets), expected);
        assert.deepEqual(result.sockets, [...result.sockets].sort(compareSockets), 'sorted output');
      } finally {
        child.close();
      }
    });
  }

  test('detection picks procfs here', async () => {
    const child = new ScannerChild(host, 'detect');
    try {
      assert.equal((await child.scan()).backend, 'procfs');
    } finally {
      child.close();
    }
  });

  test('groupPorts over the live scan: dedupe, forwardability, loopback-only', async () => {
    const child = new ScannerChild(host, 'procfs');
    try {
      const groups = groupPorts((await child.scan()).result.sockets);
      const g = (p: 'tcp' | 'udp', port: number) => groups.find((x) => x.protocol === p && x.port === port);
      assert.deepEqual(g('tcp', 7001)?.addresses, ['0.0.0.0', '::']);
      assert.equal(g('tcp', 7001)?.v4 && g('tcp', 7001)?.v6, true);
      assert.equal(g('tcp', 7002)?.loopbackOnly, true);
      assert.equal(g('tcp', 7004)?.forwardable, false, 'specific addresses only: reported, not forwardable');
      assert.deepEqual(g('tcp', 7004)?.addresses, [host.address, V6]);
      assert.equal(g('tcp', 22)?.forwardable, false);
      assert.equal(g('tcp', 7006)?.forwardable, true, 'IPv4-mapped loopback');
      assert.equal(g('udp', 7053)?.loopbackOnly, true);
      assert.equal(groups.filter((x) => x.protocol === 'tcp' && x.port === 7009).length, 1, 'REUSEPORT twins are one');
    } finally {
      child.close();
    }
  });

  test('procfs: a new listener is one diff entry and one fd walk; rescans without change walk nothing', async () => {
    const child = new ScannerChild(host, 'procfs');
    try {
      const first = await child.scan();
      const walks = first.stats?.fdWalks ?? -1;
      assert.equal(walks, 1);
      for (let i = 0; i < 5; i++)
        assert.equal((await child.scan()).stats?.fdWalks, walks, 'no walk without new inodes');
      const svc = await host.serve('tcp-listen', 7100, '127.0.0.1');
      const withNew = await child.scan();
      assert.deepEqual(diffScans(first.result.sockets, withNew.result.sockets), {
        added: [sock('tcp', 7100, '127.0.0.1', 'node')],
        removed: [],
      });
      assert.equal(withNew.stats?.fdWalks, walks + 1);
      await svc.stop();
      const gone = await child.scan();
      assert.deepEqual(diffScans(withNew.result.sockets, gone.result.sockets), {
        added: [],
        removed: [sock('tcp', 7100, '127.0.0.1', 'node')],
      });
      assert.equal(gone.stats?.fdWalks, walks + 1, 'a disappearing socket needs no walk');
      assert.equal(gone.stats?.cachedInodes, first.stats?.cachedInodes, 'the gone inode was evicted');
    } finally {
      child.close();
    }
  });

  test('procfs as an unprivileged user: sockets of other users are listed with an empty process', async () => {
    await startReady(host, [
      'setpriv',
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '/usr/bin/python3',
      unprivileged.openSockets,
      '--name',
      'mine',
      'tcp:127.0.0.1:7200',
    ]);
    const child = new ScannerChild(host, 'procfs', 65534, unprivileged);
    try {
      const { result, stats } = await child.scan();
      assert.deepEqual(
        result.sockets.find((s) => s.port === 7200),
        sock('tcp', 7200, '127.0.0.1', 'mine'),
      );
      const others = result.sockets.filter((s) => s.port !== 7200);
      assert.deepEqual(
        sorted(others),
        expected.map((s) => ({ ...s, process: '' })),
      );
      const again = await child.scan();
      assert.equal(again.stats?.fdWalks, stats?.fdWalks, 'unowned inodes are cached: no walk on every scan');
    } finally {
      child.close();
    }
  });

  test('agentless: the script over real SSH (sh -s) parses to the same set, comm names', async () => {
    const out = await run(['ssh', ...host.sshArgs(), 'sh', '-s'], {
      input: remoteScanScript({ tcp: true, udp: true }),
    });
    const result = parseRemoteScanOutput(out.stdout);
    assert.equal(result.malformed, 0);
    // the script reads cmdline only for thread-named comms: Node 24+ (this test's runtime) names its main thread
    // MainThread, so its listeners get the program's full name; under an older Node, the name cut at 15 bytes
    const threadNamed = Number(process.versions.node.split('.')[0]) >= 24;
    const want = expected.map((s) => (s.port === 7015 && !threadNamed ? { ...s, process: 'a-very-long-pro' } : s));
    assert.deepEqual(sorted(result.sockets.filter((s) => s.port !== 7200)), want);
  });
});
