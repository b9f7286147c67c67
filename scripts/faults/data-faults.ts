// Data integrity and churn through a real forward: SHA-256 of every byte sent against every byte echoed back, and
// the host process's and the agent's file descriptors, listeners and memory before and after heavy churn.
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect } from 'node:net';
import { udpClient } from '../../test/support/udp-client.ts';
import { Listeners } from '../bench/listeners.ts';
import { sequentialConnections } from '../bench/net-probe.ts';
import type { FaultContext, FaultRow, RunResult } from './fault-types.ts';
import { agentPid, type Mirror, type MirrorOptions, mirror } from './mirror.ts';
import { fdCount, listenerCount, rssMb, until } from './probes.ts';

const MiB = 1024 * 1024;
/** What every connection sends, block after block (one buffer: 1,000 connections need not hold 1 GiB). */
const BLOCK = randomBytes(MiB);

/** Sends `bytes` (pseudo-random, 1 MiB blocks) to an echo port and hashes both what went and what came back. */
function echoHashed(port: number, bytes: number, timeoutMs: number): Promise<{ sent: string; got: string; n: number }> {
  return new Promise((resolve, reject) => {
    const sentHash = createHash('sha256');
    const gotHash = createHash('sha256');
    let got = 0;
    const s = connect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`echo of ${bytes} bytes: ${got} back within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    s.on('data', (d: Buffer) => {
      gotHash.update(d);
      got += d.length;
      if (got >= bytes) {
        clearTimeout(timer);
        s.destroy();
        resolve({ sent: sentHash.digest('hex'), got: gotHash.digest('hex'), n: got });
      }
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`echo of ${bytes} bytes: closed after ${got} back`));
    });
    s.on('connect', () => {
      let left = bytes;
      const more = () => {
        while (left > 0) {
          const piece = left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left);
          left -= piece.length;
          sentHash.update(piece);
          if (!s.write(piece)) return void s.once('drain', more);
        }
      };
      more();
    });
  });
}

/**
 * Sends `n` numbered datagrams (512 B, `perSecond` paced in 10 ms bursts) to a UDP echo at 127.0.0.1:port and
 * counts the distinct ones that come back intact, waiting 3 s after the last one.
 */
async function udpEchoed(
  port: number,
  n: number,
  perSecond: number,
  host = '127.0.0.1',
): Promise<{ got: number; corrupt: number }> {
  // a socket on 127.0.0.1 cannot reach another address
  const s = host === '127.0.0.1' ? await udpClient() : createSocket('udp4');
  if (host !== '127.0.0.1') {
    s.bind(0);
    await once(s, 'listening');
  }
  const seen = new Set<number>();
  let corrupt = 0;
  const payload = (i: number) => {
    const b = Buffer.alloc(512, i % 251);
    b.writeUInt32BE(i, 0);
    return b;
  };
  s.on('message', (m: Buffer) => {
    const i = m.length === 512 ? m.readUInt32BE(0) : -1;
    if (i >= 0 && i < n && m.equals(payload(i))) seen.add(i);
    else corrupt++;
  });
  try {
    const burst = Math.max(1, Math.round(perSecond / 100));
    for (let i = 0; i < n; i += burst) {
      for (let j = i; j < Math.min(n, i + burst); j++) s.send(payload(j), port, host);
      await new Promise((r) => setTimeout(r, 10));
    }
    await until(async () => seen.size >= n, 'every datagram back', 3000).catch(() => {});
    return { got: seen.size, corrupt };
  } finally {
    s.close();
  }
}

/** Runs `each` `runs` times on one mirror, a failure of one run recorded and the next one tried. */
function onMirror(
  each: (m: Mirror, ctx: FaultContext) => Promise<RunResult>,
  opts: MirrorOptions = {},
): FaultRow['measure'] {
  return async (runs, ctx) => {
    const m = await mirror(opts);
    const out: RunResult[] = [];
    try {
      for (let i = 0; i < runs; i++)
        out.push(await each(m, ctx).catch((err: Error) => ({ ok: false, note: err.message })));
    } finally {
      await m.close();
    }
    return out;
  };
}

/** fds, listeners and RSS of the host process and the agent. */
function footprint(m: Mirror) {
  const pid = m.cli.child.pid as number;
  const agent = agentPid(m);
  return { fds: fdCount(pid), listeners: listenerCount(pid), rss: rssMb(pid), agentFds: fdCount(agent) };
}

/** Zero leaked: the same listeners and, after the churn settles, no more descriptors than at the start. */
async function leakCheck(m: Mirror, baseline: ReturnType<typeof footprint>): Promise<RunResult> {
  let after = footprint(m);
  await until(
    async () => {
      after = footprint(m);
      return after.fds <= baseline.fds && after.agentFds <= baseline.agentFds && after.listeners === baseline.listeners;
    },
    'descriptors back to where they were',
    10_000,
  ).catch(() => {});
  const ok = after.fds <= baseline.fds && after.agentFds <= baseline.agentFds && after.listeners === baseline.listeners;
  return {
    ok,
    note:
      `host fds ${baseline.fds} -> ${after.fds}, listeners ${baseline.listeners} -> ${after.listeners}, ` +
      `agent fds ${baseline.agentFds} -> ${after.agentFds}, host RSS ${baseline.rss.toFixed(0)} -> ${after.rss.toFixed(0)} MB`,
  };
}

/** One stream of `mib` MiB through the forward and back, hashed. */
function bulkRun(mib: number, timeoutMs: number) {
  return async (m: Mirror): Promise<RunResult> => {
    const bytes = mib * MiB;
    const t0 = performance.now();
    const r = await echoHashed(m.local, bytes, timeoutMs);
    const mbps = (bytes / MiB / ((performance.now() - t0) / 1000)).toFixed(1);
    return {
      ok: r.sent === r.got,
      bytesLost: bytes - r.n,
      note: r.sent === r.got ? `${mbps} MiB/s each way` : 'hash differs',
    };
  };
}

/** `n` concurrent connections x 1 MiB through the forward and back, each hashed. */
function concurrentRun(n: number, timeoutMs: number) {
  return async (m: Mirror): Promise<RunResult> => {
    const results = await Promise.allSettled(Array.from({ length: n }, () => echoHashed(m.local, MiB, timeoutMs)));
    const bad = results.filter((r) => r.status === 'rejected' || r.value.sent !== r.value.got).length;
    const lost = results.reduce((sum, r) => sum + (r.status === 'fulfilled' ? MiB - r.value.n : MiB), 0);
    const first = results.find((r) => r.status === 'rejected')?.reason as Error | undefined;
    const why = first ? ` (first: ${first.message.split('\n')[0]})` : '';
    return {
      ok: bad === 0,
      bytesLost: lost,
      ...(bad ? { note: `${bad} of ${n} connections wrong or failed${why}` } : {}),
    };
  };
}

/**
 * Datagrams through the UDP forward, and the same datagrams sent straight over the link to the same echo (no
 * port-linker): the loss rate of each is the figure. The forward carries UDP inside the SSH connection, which drops
 * a datagram rather than queue it while TCP recovers a lost segment (UDP semantics, packages/agent/src/udp-relay.ts),
 * so it may lose some where the link loses some; more than one point above the link's own loss (or above 1 %
 * where the link loses none) fails.
 */
function udpRun(n: number) {
  return async (m: Mirror): Promise<RunResult> => {
    const direct = m.udpDirect as { address: string; port: number };
    const tunnel = await udpEchoed(m.udpLocal as number, n, 2000);
    const raw = await udpEchoed(direct.port, n, 2000, direct.address);
    const loss = (n - tunnel.got) / n;
    const rawLoss = (n - raw.got) / n;
    const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
    return {
      ok: loss <= Math.max(0.01, rawLoss + 0.01) && tunnel.corrupt === 0,
      note: `lost ${pct(loss)} through the forward, ${pct(rawLoss)} straight over the link${tunnel.corrupt ? `; ${tunnel.corrupt} corrupt` : ''}`,
    };
  };
}

/** RSS a churn round may add (allocator noise): 800 bytes kept per connection of a round is more. */
const RSS_SLACK_MB = 8;
const signed = (mb: number) => `${mb >= 0 ? '+' : ''}${mb.toFixed(1)}`;

/** The bench's WAN link: 50 ms and 1 % loss client->server (scripts/bench/wan-relay.py). */
const WAN = { delayMs: 50, loss: 0.01 };

export const DATA_FAULTS: FaultRow[] = [
  {
    id: 'integrity-1gib',
    label: '1 GiB (quick: 128 MiB) through one forward and back, SHA-256 compared',
    runs: 3,
    quickRuns: 1,
    measure: onMirror((m, ctx) => bulkRun(ctx.quick ? 128 : 1024, 300_000)(m)),
  },
  {
    id: 'integrity-concurrent',
    label: '1,000 concurrent connections x 1 MiB (quick: 100) through one forward and back, SHA-256 each',
    runs: 3,
    quickRuns: 1,
    measure: onMirror((m, ctx) => concurrentRun(ctx.quick ? 100 : 1000, 300_000)(m)),
  },
  {
    id: 'integrity-wan-1gib',
    label: 'over a 50 ms / 1 % loss link: 1 GiB (quick: 32 MiB) through one forward and back, SHA-256 compared',
    runs: 2,
    quickRuns: 1,
    measure: onMirror((m, ctx) => bulkRun(ctx.quick ? 32 : 1024, 900_000)(m), { wan: WAN }),
  },
  {
    id: 'integrity-wan-concurrent',
    label: 'over a 50 ms / 1 % loss link: 1,000 concurrent connections x 1 MiB (quick: 50), SHA-256 each',
    runs: 2,
    quickRuns: 1,
    measure: onMirror((m, ctx) => concurrentRun(ctx.quick ? 50 : 1000, 900_000)(m), { wan: WAN }),
  },
  {
    id: 'udp-loss',
    label: 'UDP: 10,000 datagrams (quick: 1,000) at 2,000/s through one forward and back: loss rate vs the link',
    runs: 3,
    quickRuns: 1,
    measure: onMirror((m, ctx) => udpRun(ctx.quick ? 1000 : 10_000)(m), { udp: true }),
  },
  {
    id: 'udp-loss-wan',
    label: 'UDP over a 50 ms / 1 % loss link: 10,000 datagrams (quick: 1,000) at 2,000/s: loss rate vs the link',
    runs: 3,
    quickRuns: 1,
    measure: onMirror((m, ctx) => udpRun(ctx.quick ? 1000 : 10_000)(m), { udp: true, wan: WAN }),
  },
  {
    id: 'churn-services',
    label: '500 remote services open and close (quick: 100): forwards follow, zero fds or listeners leaked',
    runs: 3,
    quickRuns: 1,
    measure: onMirror(async (m, ctx) => {
      const n = ctx.quick ? 100 : 500;
      const baseline = footprint(m);
      const listeners = new Listeners(m.host);
      try {
        const base = 20000 + Math.floor(Math.random() * 10000);
        const since = m.cli.events.length;
        const count = (event: string) =>
          m.cli.events
            .slice(since)
            .filter(
              (e) => e.event === event && (e.remote_port as number) >= base && (e.remote_port as number) < base + n,
            ).length;
        await listeners.listen(base, n);
        await until(async () => count('forward_added') >= n, `${n} forwards`, 60_000);
        await listeners.close(base, n);
        await until(async () => count('forward_removed') >= n, `${n} forwards removed`, 60_000);
      } finally {
        await listeners.stop();
      }
      return leakCheck(m, baseline);
    }),
  },
  {
    id: 'churn-connections',
    label:
      '10,000 short connections (quick: 1,000) through one forward, 3 rounds: zero fds or listeners leaked, RSS not growing round after round',
    runs: 3,
    quickRuns: 2,
    measure: (runs, ctx) => {
      // A leak grows RSS every round; the first round warms up (heaps grown to their working size, JIT, pools)
      // and a later one may grow once when V8 raises its heap limit, so two growths in a row count as a leak.
      let last: { host: number; agent: number } | undefined;
      let grewBefore = false;
      return onMirror(async (m) => {
        const baseline = footprint(m);
        await sequentialConnections(m.local, ctx.quick ? 1000 : 10_000);
        const r = await leakCheck(m, baseline);
        const now = { host: rssMb(m.cli.child.pid as number), agent: rssMb(agentPid(m)) };
        const before = last;
        last = now;
        if (!before) return { ...r, note: `${r.note}; round 1 (warm-up): agent RSS ${now.agent.toFixed(0)} MB` };
        const grew = { host: now.host - before.host, agent: now.agent - before.agent };
        const grows = grew.host > RSS_SLACK_MB || grew.agent > RSS_SLACK_MB;
        const leak = grows && grewBefore;
        grewBefore = grows;
        return {
          ok: r.ok && !leak,
          note: `${r.note}; RSS since the last round: host ${signed(grew.host)} MB, agent ${signed(grew.agent)} MB${leak ? ` (over ${RSS_SLACK_MB} MB two rounds in a row: a leak)` : ''}`,
        };
      })(runs, ctx);
    },
  },
];
