// Link faults: the network between this machine and 10 remotes goes away (their veth links down) and comes back.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteHost } from '../../test/harness/index.ts';
import { CliProcess } from '../../test/support/cli-process.ts';
import { oneConnection } from '../bench/net-probe.ts';
import type { FaultContext, FaultRow, RunResult } from './fault-types.ts';
import { echoes, listenerDiff, listeners as listenersOf, until } from './probes.ts';

const HOSTS = 10;

/**
 * One port-linker for 10 hosts, an echo service on each. Per run: every link down for 30 s (quick: 5 s); meanwhile
 * a connection to a forward must end (refused or closed) within 15 s, and no listener may go; after the links come
 * back, every forward must answer within 3 s.
 */
async function linkDown(runs: number, ctx: FaultContext, extra: string[] = []): Promise<RunResult[]> {
  const outageMs = ctx.quick ? 5000 : 30_000;
  // every key is offered to every host: more tries than sshd's default 6
  const hosts = await Promise.all(
    Array.from({ length: HOSTS }, () => RemoteHost.start({ sshdConfig: ['MaxAuthTries 20'], quietShell: true })),
  );
  const dir = mkdtempSync(join(tmpdir(), 'pl-faults-link-'));
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, hosts.map((h) => readFileSync(h.knownHostsPath, 'utf8')).join(''), { mode: 0o600 });
  const services = await Promise.all(hosts.map((h) => h.serve('tcp-echo', 0, '127.0.0.1')));
  const cli = new CliProcess(
    [
      '--json',
      '--no-notify',
      ...hosts.flatMap((h) => ['-i', h.clientKeyPath]),
      ...['-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes'],
      ...extra,
      ...hosts.map((h) => h.target),
    ],
    { PORT_LINKER_LOG: 'info' },
  );
  const out: RunResult[] = [];
  try {
    const locals = await Promise.all(
      hosts.map(async (h, i) => {
        const e = await cli.waitEvent(
          (x) => x.event === 'forward_added' && x.host === h.target && x.remote_port === services[i]?.port,
          `forward of ${h.target}`,
          60_000,
        );
        return e.local_port as number;
      }),
    );
    if (extra.includes('direct'))
      await Promise.all(
        hosts.map((h) =>
          cli.waitEvent(
            (x) => x.event === 'data_path' && x.host === h.target && x.kind === 'direct',
            `direct data path of ${h.target}`,
            60_000,
          ),
        ),
      );
    const pid = cli.child.pid as number;
    const listeners = listenersOf(pid);
    for (let r = 0; r < runs; r++) {
      try {
        await Promise.all(hosts.map((h) => h.linkDown()));
        const downAt = performance.now();
        await new Promise((res) => setTimeout(res, 2000));
        // a connection made during the outage: ends within 15 s (the link wait is 10 s), never hangs
        const t0 = performance.now();
        const during = await oneConnection(locals[0] as number, 15_000).then(
          () => 'answered',
          (err: Error) => (/timed out|within 15000 ms/.test(err.message) ? 'hung' : 'ended'),
        );
        const endedMs = performance.now() - t0;
        const kept = listenerDiff(listeners, listenersOf(pid));
        await new Promise((res) => setTimeout(res, Math.max(0, outageMs - (performance.now() - downAt))));
        await Promise.all(hosts.map((h) => h.linkUp()));
        const upAt = Date.now();
        const recoveryMs = await until(
          async () => (await Promise.all(locals.map((p) => echoes(p)))).every(Boolean),
          'every forward answering',
          120_000,
        );
        const after = listenerDiff(listeners, listenersOf(pid));
        if (process.env.FAULTS_DEBUG && (recoveryMs > 3000 || after || kept)) {
          const since = new Date(upAt - outageMs - 2000).toISOString();
          for (const e of cli.events.filter((x) => x.ts >= since)) ctx.log(`  ${JSON.stringify(e)}`);
        }
        const problems = [
          ...(during === 'hung' ? ['a connection during the outage hung 15 s'] : []),
          ...(kept ? [`listeners during the outage: ${kept}`] : []),
          ...(after ? [`listeners after: ${after}`] : []),
          ...(recoveryMs > 3000 ? ['recovery over 3 s'] : []),
        ];
        out.push({
          ok: problems.length === 0,
          recoveryMs,
          note:
            problems.join('; ') || `a connection during the outage ${during} after ${(endedMs / 1000).toFixed(1)} s`,
        });
      } catch (err) {
        out.push({ ok: false, note: (err as Error).message.split('\n')[0] ?? 'failed' });
        await Promise.all(hosts.map((h) => h.linkUp().catch(() => {})));
      }
    }
  } finally {
    await cli.stop('SIGKILL').catch(() => {});
    await Promise.all(services.map((s) => s.stop()));
    await Promise.all(hosts.map((h) => h.close()));
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

export const LINK_FAULTS: FaultRow[] = [
  {
    id: 'link-down',
    label: `link down 30 s (quick: 5 s) under ${HOSTS} hosts at once, then up: every forward back within 3 s`,
    runs: 3,
    quickRuns: 1,
    measure: linkDown,
  },
  {
    id: 'link-down-direct',
    label: `the same with --data-path direct (forwards over the agent's TLS connection, SSH channels meanwhile)`,
    runs: 2,
    quickRuns: 1,
    measure: (runs, ctx) => linkDown(runs, ctx, ['--data-path', 'direct']),
  },
];
