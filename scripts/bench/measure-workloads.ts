import { run } from '../../test/harness/index.ts';
import type { Figure, RowContext } from './bench-types.ts';
import { perRequest, tunnelCpu } from './cpu-account.ts';
import { startTunnel, waitDataPath } from './tunnel.ts';
import { PAGE, type WorkloadServers, workloadServers } from './workload-servers.ts';

/** Client connections of each workload row. */
const CONNS = [1, 8, 32] as const;
/** Seconds per timed client run (pgbench -T, wrk -d). */
const SECONDS = 3;

/** Connections of the runs whose CPU per request is reported. */
const CPU_CONNS = 8;

interface Workload {
  id: string;
  label: string;
  unit: string;
  /** The rate, and how many requests it took (for CPU per request). */
  measure(servers: WorkloadServers, conns: number): Promise<{ rate: number; requests: number }>;
}

const timed = async (rate: Promise<number>) => {
  const r = await rate;
  return { rate: r, requests: r * SECONDS };
};

/** Runs a load tool on this side (the host); its stdout, or a one-line error with its stderr. */
async function tool(argv: string[]): Promise<string> {
  const r = await run(argv, { allowFail: true });
  if (r.code !== 0) throw new Error(`${argv[0]} exited ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  return r.stdout;
}

function pick(text: string, re: RegExp, what: string): number {
  const m = text.match(re);
  if (!m?.[1]) throw new Error(`no ${what} in: ${text.slice(0, 300)}`);
  return Number(m[1]);
}

const threads = (n: number) => String(Math.min(n, 2));

const WORKLOADS: Workload[] = [
  {
    id: 'pg',
    label: 'PostgreSQL: pgbench -S (select-only, one small read per transaction)',
    unit: 'tx/s',
    measure: async (s, c) =>
      timed(
        tool([
          'pgbench',
          '-n',
          '-S',
          '-h',
          '127.0.0.1',
          '-p',
          String(s.postgres),
          '-U',
          'postgres',
          '-c',
          String(c),
          '-j',
          threads(c),
          '-T',
          String(SECONDS),
          'postgres',
        ]).then((out) => pick(out, /tps = ([\d.]+) \(without initial connection time\)/, 'tps')),
      ),
  },
  {
    id: 'redis',
    label: 'Redis: redis-benchmark SET+GET, pipelining off',
    unit: 'req/s',
    measure: (s, c) => redisRate(s.redis, c, 1),
  },
  {
    id: 'redisPipe',
    label: 'Redis: redis-benchmark SET+GET, pipelining 16',
    unit: 'req/s',
    measure: (s, c) => redisRate(s.redis, c, 16),
  },
  {
    id: 'http',
    label: 'HTTP: wrk, keep-alive, 16 KiB page (nginx)',
    unit: 'req/s',
    measure: (s, c) => timed(wrkRate(s.http, c, false)),
  },
  {
    id: 'httpNew',
    label: 'HTTP: wrk, a new connection per request, 16 KiB page',
    unit: 'req/s',
    measure: (s, c) => timed(wrkRate(s.http, c, true)),
  },
];

/** redis-benchmark's SET and GET rates, averaged; requests sized for ~1.5 s each. */
async function redisRate(port: number, conns: number, pipeline: number): Promise<{ rate: number; requests: number }> {
  const n = Math.round((conns === 1 ? 8000 : 30000) * (pipeline > 1 ? 8 : 1));
  const out = await tool([
    'redis-benchmark',
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-c',
    String(conns),
    '-n',
    String(n),
    '-P',
    String(pipeline),
    '-t',
    'set,get',
    '--csv',
  ]);
  const rates = [...out.matchAll(/^"(SET|GET)","([\d.]+)"/gm)].map((m) => Number(m[2]));
  if (rates.length !== 2) throw new Error(`redis-benchmark gave no SET/GET rates: ${out.slice(0, 300)}`);
  return { rate: (rates[0] as number) / 2 + (rates[1] as number) / 2, requests: 2 * n };
}

async function wrkRate(port: number, conns: number, close: boolean): Promise<number> {
  const out = await tool([
    'wrk',
    '-t',
    threads(conns),
    '-c',
    String(conns),
    '-d',
    `${SECONDS}s`,
    ...(close ? ['-H', 'Connection: close'] : []),
    `http://127.0.0.1:${port}${PAGE}`,
  ]);
  const errors = out.match(/Non-2xx or 3xx responses: (\d+)/);
  if (errors) throw new Error(`wrk: ${errors[1]} failed responses`);
  return pick(out, /Requests\/sec:\s+([\d.]+)/, 'Requests/sec');
}

/** Waits until each server answers its own client through the tunnel (a bare connect proves nothing for ssh -L). */
async function clientsReady(s: WorkloadServers, dead: () => string | undefined): Promise<void> {
  const probes = [
    ['pg_isready', '-q', '-h', '127.0.0.1', '-p', String(s.postgres)],
    ['redis-cli', '-h', '127.0.0.1', '-p', String(s.redis), 'ping'],
    ['curl', '-sf', '-o', '/dev/null', `http://127.0.0.1:${s.http}${PAGE}`],
  ];
  const deadline = Date.now() + 20_000;
  for (const argv of probes) {
    for (;;) {
      const why = dead();
      if (why) throw new Error(why);
      const r = await run(argv, { allowFail: true });
      if (r.code === 0 && !/error/i.test(r.stdout)) break;
      if (Date.now() > deadline) throw new Error(`${argv[0]} through the tunnel: no answer within 20 s`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }
}

/** The figures of the workloads row: every workload at 1, 8 and 32 connections, ratio targets from issue 23. */
export const WORKLOAD_FIGURES: Figure[] = WORKLOADS.flatMap((w) => [
  ...CONNS.map((c) => ({
    id: `${w.id}${c}`,
    label: `${w.label}, ${c} connection${c === 1 ? '' : 's'}`,
    unit: w.unit,
    target: { kind: 'ratio' as const, op: '>=' as const, value: c >= 8 ? 1.2 : 1 },
  })),
  // where the time goes (issue 23, item 4): the tunnel's two ends, per request, at CPU_CONNS connections
  ...(
    [
      ['ClientUser', 'tunnel client (ssh / port-linker) user CPU', 'µs/req'],
      ['ClientKernel', 'tunnel client kernel CPU', 'µs/req'],
      ['ClientSyscalls', 'tunnel client read/write syscalls', '/req'],
      ['Remote', 'far end (sshd, agent) user+kernel CPU', 'µs/req'],
    ] as const
  ).map(([suffix, what, unit]) => ({
    id: `${w.id}Cpu${suffix}`,
    label: `${w.id} ${CPU_CONNS} conns: ${what}`,
    unit,
  })),
]);

/**
 * One tunnel per side and run (`ssh -N -L` x3 or `port-linker --no-auto -L` x3, after its data path is chosen), then
 * each workload's client on this side against the server in the namespace, 1, 8 and 32 connections.
 */
export async function workloadFigures(ctx: RowContext): Promise<Record<string, number>> {
  const servers = await workloadServers(ctx.host, ctx.log);
  const ports = [servers.postgres, servers.redis, servers.http];
  const t = startTunnel(ctx.side, ctx.target, { forwards: ports });
  try {
    await clientsReady(servers, t.dead);
    if (ctx.side === 'port-linker') ctx.log(`workloads: data path ${await waitDataPath(t)}`);
    const out: Record<string, number> = {};
    const clientPid = t.child.pid as number;
    for (const w of WORKLOADS)
      for (const c of CONNS) {
        const before = tunnelCpu(clientPid, ctx.host.ns);
        const r = await w.measure(servers, c);
        out[`${w.id}${c}`] = r.rate;
        if (c !== CPU_CONNS) continue;
        const cpu = perRequest(before, tunnelCpu(clientPid, ctx.host.ns), r.requests);
        out[`${w.id}CpuClientUser`] = cpu.clientUserUs;
        out[`${w.id}CpuClientKernel`] = cpu.clientKernelUs;
        out[`${w.id}CpuClientSyscalls`] = cpu.clientSyscalls;
        out[`${w.id}CpuRemote`] = cpu.remoteUs;
      }
    return out;
  } finally {
    await t.stop();
  }
}
