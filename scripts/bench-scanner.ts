// Scanner cost: `npm run bench:scanner` (root: it uses a private network namespace).
// Opens 1,000 listening sockets across 50 processes (700 TCP, 300 UDP; v4/v6, wildcard/loopback), then times,
// inside that namespace, one procfs scan + diff cold (fresh scanner: includes the /proc/<pid>/fd walk) and warm
// (cached inodes), a scan right after one new listener appears, and the ss and netstat backends for comparison.
// Target: warm scan + diff < 20 ms.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ListeningSocket } from '@port-linker/proto';
import { createScanner, diffScans, ProcfsScanner, type Scanner } from '@port-linker/scanner';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const PROCESSES = 50;
const PER_PROCESS = 20;
const BASE_PORT = 20000;
const ALL = { tcp: true, udp: true } as const;

/** The sockets of worker `w`: 14 TCP and 6 UDP, spread over address kinds. */
function workerSpecs(w: number): string[] {
  const specs: string[] = [];
  for (let j = 0; j < PER_PROCESS; j++) {
    const port = BASE_PORT + w * PER_PROCESS + j;
    const kind = j < 14 ? 'tcp' : 'udp';
    const addr = ['0.0.0.0', '127.0.0.1', '[::]', '[::1]'][j % 4];
    specs.push(`${kind}${addr?.startsWith('[') ? '6only' : ''}:${addr}:${port}`);
  }
  return specs;
}

function stats(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
  return `median ${at(0.5).toFixed(2)} ms  p95 ${at(0.95).toFixed(2)} ms  max ${(s.at(-1) ?? 0).toFixed(2)} ms  (n=${s.length})`;
}

async function timed(scanner: Scanner, previous: readonly ListeningSocket[]) {
  const t0 = performance.now();
  const r = await scanner.scan(ALL);
  diffScans(previous, r.sockets);
  return { ms: performance.now() - t0, sockets: r.sockets };
}

/** Runs inside the namespace: the measurements. */
async function inner(): Promise<void> {
  const procs = spawnSync('sh', ['-c', 'ls -d /proc/[0-9]* | wc -l'], { encoding: 'utf8' }).stdout.trim();
  console.log(`machine: ${procs} processes visible in /proc (the cold fd walk reads each one's fd directory)`);

  const cold: number[] = [];
  let count = 0;
  let walked = 0;
  for (let i = 0; i < 10; i++) {
    const scanner = new ProcfsScanner();
    const r = await timed(scanner, []);
    cold.push(r.ms);
    count = r.sockets.length;
    walked = scanner.stats.pidsVisited;
  }
  console.log(`sockets found: ${count} (after dedupe; expected >= ${PROCESSES * PER_PROCESS})`);
  console.log(`procfs cold  scan+diff: ${stats(cold)}  (${walked} fd dirs read)`);

  const scanner = new ProcfsScanner();
  let previous = (await scanner.scan(ALL)).sockets;
  const warm: number[] = [];
  for (let i = 0; i < 200; i++) {
    const r = await timed(scanner, previous);
    warm.push(r.ms);
    previous = r.sockets;
  }
  console.log(`procfs warm  scan+diff: ${stats(warm)}  (fd walks after warm-up: ${scanner.stats.fdWalks - 1})`);

  const fresh: number[] = [];
  const visitedBefore = scanner.stats.pidsVisited;
  for (let i = 0; i < 20; i++) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const r = await timed(scanner, previous);
    fresh.push(r.ms);
    previous = r.sockets;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  const perWalk = (scanner.stats.pidsVisited - visitedBefore) / fresh.length;
  console.log(`procfs one new listener scan+diff: ${stats(fresh)}  (${perWalk.toFixed(1)} fd dirs read per walk)`);

  for (const backend of ['ss', 'netstat'] as const) {
    const tool = createScanner(backend);
    let prev = (await tool.scan(ALL)).sockets;
    const samples: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await timed(tool, prev);
      samples.push(r.ms);
      prev = r.sockets;
    }
    console.log(`${backend.padEnd(7)} warm scan+diff: ${stats(samples)}  (${prev.length} sockets)`);
  }
  const target = [...warm].sort((a, b) => a - b)[Math.floor(warm.length / 2)] ?? Infinity;
  console.log(`target warm scan + diff < 20 ms: ${target < 20 ? 'met' : 'MISSED'} (median ${target.toFixed(2)} ms)`);
}

async function outer(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench:scanner needs root (it creates a network namespace)');
    process.exit(2);
  }
  const ns = `plbench${process.pid.toString(36)}`;
  const children: ChildProcess[] = [];
  const sh = (argv: string[]) => {
    const r = spawnSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  };
  sh(['ip', 'netns', 'add', ns]);
  try {
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: PROCESSES }, (_, w) => {
        const child = spawn(
          'ip',
          [
            'netns',
            'exec',
            ns,
            'python3',
            join(REPO, 'fixtures/scanner/open-sockets.py'),
            '--name',
            `bench-w${w}`,
            ...workerSpecs(w),
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        children.push(child);
        return new Promise<void>((resolve, reject) => {
          child.stdout?.once('data', () => resolve());
          child.once('exit', (code) => reject(new Error(`worker ${w} exited ${code}`)));
        });
      }),
    );
    console.log(
      `opened ${PROCESSES * PER_PROCESS} listening sockets in ${PROCESSES} processes in ${(performance.now() - started).toFixed(0)} ms`,
    );
    const r = spawnSync(
      'ip',
      ['netns', 'exec', ns, process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), '--inner'],
      { stdio: 'inherit', cwd: REPO },
    );
    if (r.status !== 0) process.exitCode = 1;
  } finally {
    for (const c of children) if (c.pid && c.exitCode === null) c.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

if (process.argv.includes('--inner')) await inner();
else await outer();
