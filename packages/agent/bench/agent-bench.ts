// Agent bench (not a test): `npm run bench:agent [-- --seconds 60 --interval 150 --samples 100]`
// For the bundled script under node and, when built, the linux-x64 single executable: idle CPU and RSS of a
// watching agent over N seconds (the host pings every 5 s, as the AgentLink does), then watch latency
// (listen() -> ScanDelta on the host side of the pipe) p50/p99. Prints one JSON line per runtime.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { encodeMessage, type Message, MessageDecoder } from '@port-linker/proto';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const dist = join(root, 'packages', 'agent', 'dist');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const SECONDS = arg('seconds', 60);
const INTERVAL = arg('interval', 150);
const SAMPLES = arg('samples', 100);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14, 15 of the full line)
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An idle remote has nobody else opening sockets or starting processes; this shared machine does (other
 * test runs), and each change of the kernel's socket counters makes the agent rescan.
 * As root, the idle phase runs the agent in fresh network and PID namespaces (`unshare --net --pid
 * --fork`: its own counters, only `lo`), like a quiet remote host.
 */
const UNSHARE = ['unshare', '--net', '--pid', '--fork', '--'];
const OWN_NETNS = process.getuid?.() === 0 && spawnSync(UNSHARE[0] ?? '', [...UNSHARE.slice(1), 'true']).status === 0;

/** The agent's PID: under `unshare --fork` it is unshare's only child. */
function agentPid(pid: number, forked: boolean): number {
  if (!forked) return pid;
  const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ');
  return Number(kids[0]);
}

async function bench(name: string, runtime: string[]): Promise<Record<string, unknown>> {
  const idle = await run(OWN_NETNS ? [...UNSHARE, ...runtime] : runtime, true);
  const watch = await run(runtime, false);
  return { runtime: name, intervalMs: INTERVAL, ...idle, ...watch };
}

async function run(argv: string[], idlePhase: boolean): Promise<Record<string, unknown>> {
  const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const decoder = new MessageDecoder();
  const deltas: Array<{ at: number; ports: Set<number> }> = [];
  let hello = false;
  child.stdout.on('data', (c: Buffer) => {
    const at = performance.now();
    for (const m of decoder.push(c)) {
      if (m.type === 'AgentHello') hello = true;
      if (m.type === 'ScanDelta') deltas.push({ at, ports: new Set(m.added.map((s) => s.port)) });
    }
  });
  const send = (m: Message) => child.stdin.write(encodeMessage(m));
  const t0 = performance.now();
  while (!hello) await sleep(1);
  const startupMs = performance.now() - t0;
  send({ type: 'WatchRequest', tcp: true, udp: true, intervalMs: INTERVAL });
  while (deltas.length === 0) await sleep(1);
  await sleep(1000); // past start-up work (first fd walk, JIT)
  if (!idlePhase) {
    const latency = await latencies();
    child.stdin.end();
    await new Promise((r) => child.on('exit', r));
    return { startupMs: Number(startupMs.toFixed(0)), watchLatencyMs: latency };
  }

  const pinger = setInterval(() => send({ type: 'Ping', value: 1n }), 5000);
  const pid = agentPid(child.pid ?? 0, argv[0] === 'unshare');
  const ticks0 = cpuTicks(pid);
  const w0 = performance.now();
  let rssMax = 0;
  for (let s = 0; s < SECONDS; s++) {
    await sleep(1000);
    rssMax = Math.max(rssMax, rssMb(pid));
  }
  const wallS = (performance.now() - w0) / 1000;
  const cpuPct = ((cpuTicks(pid) - ticks0) / CLK_TCK / wallS) * 100;
  const rssEnd = rssMb(pid);

  clearInterval(pinger);
  child.stdin.end();
  await new Promise((r) => child.on('exit', r));
  return {
    idleSeconds: SECONDS,
    idleNamespaces: OWN_NETNS ? 'own net + pid (unshare)' : 'shared with this machine',
    idleCpuPercent: Number(cpuPct.toFixed(3)),
    rssMbMax: Number(rssMax.toFixed(1)),
    rssMbEnd: Number(rssEnd.toFixed(1)),
  };

  /** listen() -> ScanDelta on the host side of the pipe, one listener at a time. */
  async function latencies(): Promise<Record<string, number>> {
    // listeners stay open until the end: closing one and opening another within one tick leaves the
    // kernel's socket counters unchanged, which the agent notices only at its forced rescan (5 s)
    const out: number[] = [];
    const servers: Server[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const server = createServer();
      servers.push(server);
      const { port, at } = await new Promise<{ port: number; at: number }>((resolve) =>
        server.listen(0, '127.0.0.1', () => {
          const a = server.address();
          resolve({ port: typeof a === 'object' && a ? a.port : 0, at: performance.now() });
        }),
      );
      for (;;) {
        const hit = deltas.find((d) => d.at >= at && d.ports.has(port));
        if (hit) {
          out.push(hit.at - at);
          break;
        }
        await sleep(1);
      }
      await sleep(20 + Math.random() * INTERVAL);
    }
    for (const s of servers) s.close();
    out.sort((a, b) => a - b);
    const pct = (p: number) => Number((out[Math.min(out.length - 1, Math.floor(p * out.length))] ?? 0).toFixed(1));
    return { samples: out.length, p50: pct(0.5), p99: pct(0.99), max: pct(1) };
  }
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [join(root, 'scripts', 'bundle.mjs'), 'agent'], { stdio: 'inherit' });
  const results = [await bench('node agent.cjs', [process.execPath, join(dist, 'agent.cjs')])];
  const gz = join(dist, 'bin', 'linux-x64', 'port-linker-agent.gz');
  if (process.platform === 'linux' && process.arch === 'x64' && existsSync(gz)) {
    const dir = mkdtempSync(join(tmpdir(), 'pl-agent-bench-'));
    const exe = join(dir, 'port-linker-agent');
    writeFileSync(exe, gunzipSync(readFileSync(gz)));
    chmodSync(exe, 0o700);
    try {
      results.push(await bench('linux-x64 executable', [exe]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    process.stderr.write('bench:agent: no linux-x64 executable (npm run build:agents): bundled script only\n');
  }
  for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`bench:agent failed: ${err.message}\n`);
  process.exit(1);
});
