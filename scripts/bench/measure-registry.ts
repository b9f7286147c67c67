// The `registry` bench row: alloc + release latency over the daemon's socket, and 1,000 live leases renewed by
// heartbeats (the daemon's CPU and RSS while it serves them).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlClient } from '@port-linker/client';
import { onCleanup } from './cleanup.ts';
import { cpuSeconds, rssMb } from './measure-process.ts';
import { percentile } from './stats.ts';

const CLI = join(import.meta.dirname, '../../packages/cli/bin/port-linker.js');

export interface RegistryFigures {
  allocReleaseP50Ms: number;
  allocReleaseP99Ms: number;
  /** The same over the loopback TCP API (token, keep-alive). */
  httpP50Ms: number;
  httpP99Ms: number;
  leases: number;
  /** Daemon CPU while 1,000 leases are renewed every second, as a share of one core. */
  heartbeatCpuPct: number;
  rssIdleMb: number;
  rssLeasesMb: number;
}

function cli(args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`port-linker ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

export async function registryFigures(leases: number, log: (m: string) => void): Promise<RegistryFigures> {
  const home = mkdtempSync(join(tmpdir(), 'pl-bench-registry-'));
  const env: NodeJS.ProcessEnv = { ...process.env, PORT_LINKER_HOME: home };
  delete env.XDG_RUNTIME_DIR;
  delete env.PORT_LINKER_LOG;
  // a wide range: 1,000 leases must fit beside whatever this machine already listens on
  env.PORT_LINKER_LEASE_RANGE = '20000-29999';
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    spawnSync(process.execPath, [CLI, 'daemon', 'stop'], { env, timeout: 20_000 });
    rmSync(home, { recursive: true, force: true });
  };
  onCleanup(stop);
  try {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const apiPort = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    cli(['daemon', 'start', '--api', `127.0.0.1:${apiPort}`], env);
    const token = readFileSync(join(home, 'api-token'), 'utf8').trim();
    const status = JSON.parse(cli(['daemon', 'status', '--json'], env)) as { pid: number; socket: string };
    const client = new ControlClient(status.socket);
    const times: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      const { port } = await client.call<{ port: number }>('POST', '/v1/alloc', { service_name: `lat-${i}` });
      await client.call('POST', '/v1/release', { port });
      times.push(performance.now() - t0);
    }
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const post = (path: string, body: unknown) =>
      new Promise<unknown>((resolve, reject) => {
        const data = JSON.stringify(body);
        const req = request(
          {
            host: '127.0.0.1',
            port: apiPort,
            method: 'POST',
            path,
            agent,
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(data),
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (d: string) => {
              text += d;
            });
            res.on('end', () =>
              res.statusCode === 200
                ? resolve(JSON.parse(text))
                : reject(new Error(`${path}: ${res.statusCode} ${text}`)),
            );
          },
        );
        req.on('error', reject);
        req.end(data);
      });
    const httpTimes: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      const { port } = (await post('/alloc', { service_name: `http-${i}` })) as { port: number };
      await post('/release', { port });
      httpTimes.push(performance.now() - t0);
    }
    agent.destroy();
    await new Promise((r) => setTimeout(r, 500));
    const rssIdleMb = rssMb(status.pid);
    const ports: number[] = [];
    for (let i = 0; i < leases; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, leases - i) }, (_, j) =>
          client.call<{ port: number }>('POST', '/v1/alloc', { service_name: `svc-${i + j}`, ttl_seconds: 60 }),
        ),
      );
      ports.push(...batch.map((b) => b.port));
    }
    // every lease renewed once a second for 5 s (a TTL/3 renewal of 3 s leases), 50 requests in flight
    const cpu0 = cpuSeconds(status.pid);
    const t0 = performance.now();
    for (let round = 0; round < 5; round++) {
      const roundStart = performance.now();
      for (let i = 0; i < ports.length; i += 50)
        await Promise.all(ports.slice(i, i + 50).map((port) => client.call('POST', '/v1/heartbeat', { port })));
      const left = 1000 - (performance.now() - roundStart);
      if (left > 0) await new Promise((r) => setTimeout(r, left));
    }
    const heartbeatCpuPct = ((cpuSeconds(status.pid) - cpu0) / ((performance.now() - t0) / 1000)) * 100;
    const rssLeasesMb = rssMb(status.pid);
    log(`registry: ${ports.length} leases, heartbeats at ${ports.length}/s: daemon ${heartbeatCpuPct.toFixed(1)}% CPU`);
    return {
      allocReleaseP50Ms: percentile(times, 50),
      allocReleaseP99Ms: percentile(times, 99),
      httpP50Ms: percentile(httpTimes, 50),
      httpP99Ms: percentile(httpTimes, 99),
      leases: ports.length,
      heartbeatCpuPct,
      rssIdleMb,
      rssLeasesMb,
    };
  } finally {
    stop();
  }
}
