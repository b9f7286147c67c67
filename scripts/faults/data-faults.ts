// Data integrity and churn through a real forward: SHA-256 of every byte sent against every byte echoed back, and
// the host process's and the agent's file descriptors, listeners and memory before and after heavy churn.
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Listeners } from '../bench/listeners.ts';
import { sequentialConnections } from '../bench/net-probe.ts';
import type { FaultContext, FaultRow, RunResult } from './fault-types.ts';
import { agentPid, type Mirror, mirror } from './mirror.ts';
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

/** Runs `each` `runs` times on one mirror, a failure of one run recorded and the next one tried. */
function onMirror(each: (m: Mirror, ctx: FaultContext) => Promise<RunResult>): FaultRow['measure'] {
  return async (runs, ctx) => {
    const m = await mirror();
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

export const DATA_FAULTS: FaultRow[] = [
  {
    id: 'integrity-1gib',
    label: '1 GiB (quick: 128 MiB) through one forward and back, SHA-256 compared',
    runs: 3,
    quickRuns: 1,
    measure: onMirror(async (m, ctx) => {
      const bytes = (ctx.quick ? 128 : 1024) * MiB;
      const r = await echoHashed(m.local, bytes, 300_000);
      return { ok: r.sent === r.got, bytesLost: bytes - r.n, ...(r.sent === r.got ? {} : { note: 'hash differs' }) };
    }),
  },
  {
    id: 'integrity-concurrent',
    label: '1,000 concurrent connections x 1 MiB (quick: 100) through one forward and back, SHA-256 each',
    runs: 3,
    quickRuns: 1,
    measure: onMirror(async (m, ctx) => {
      const n = ctx.quick ? 100 : 1000;
      const results = await Promise.allSettled(Array.from({ length: n }, () => echoHashed(m.local, MiB, 300_000)));
      const bad = results.filter((r) => r.status === 'rejected' || r.value.sent !== r.value.got).length;
      const lost = results.reduce((sum, r) => sum + (r.status === 'fulfilled' ? MiB - r.value.n : MiB), 0);
      return { ok: bad === 0, bytesLost: lost, ...(bad ? { note: `${bad} of ${n} connections wrong or failed` } : {}) };
    }),
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
    label: '10,000 short connections (quick: 1,000) through one forward: zero fds or listeners leaked',
    runs: 1,
    quickRuns: 1,
    measure: onMirror(async (m, ctx) => {
      const baseline = footprint(m);
      await sequentialConnections(m.local, ctx.quick ? 1000 : 10_000);
      return leakCheck(m, baseline);
    }),
  },
];
