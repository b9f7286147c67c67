// Process faults: sshd restarted or killed, the agent killed or frozen, the host process frozen, the daemon killed.
// Each run: the fault, then the time until every forward answers again (and, where the agent is involved, until a
// remote port opened after the fault is mirrored), with the process's listeners counted before and after.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteHost } from '../../test/harness/index.ts';
import { runCli } from '../../test/support/cli-run.ts';
import type { FaultContext, FaultRow, RunResult } from './fault-types.ts';
import { agentPid, type Mirror, mirror } from './mirror.ts';
import { echoes, listenerCount, until } from './probes.ts';

const pidOf = (m: Mirror) => m.cli.child.pid as number;

/** Runs `fault` `runs` times on one mirror; `fault` resolves when the fault is over, recovery is timed from there. */
function onMirror(
  fault: (m: Mirror, ctx: FaultContext) => Promise<{ after?: (m: Mirror) => Promise<boolean> } | undefined>,
  recoveryLimitMs: number,
  opts: { freshEach?: boolean } = {},
): FaultRow['measure'] {
  return async (runs, ctx) => {
    let m = await mirror();
    const out: RunResult[] = [];
    try {
      let listeners = listenerCount(pidOf(m));
      for (let i = 0; i < runs; i++) {
        if (opts.freshEach && i > 0) {
          await m.close();
          m = await mirror();
          listeners = listenerCount(pidOf(m));
        }
        try {
          const extra = await fault(m, ctx);
          const recoveryMs = await until(
            async () => (await echoes(m.local)) && (extra?.after ? await extra.after(m) : true),
            'forward usable again',
            120_000,
          );
          // the probe service's own forward goes once it stops: wait for the count to settle
          let now = listenerCount(pidOf(m));
          const settled = async () => {
            now = listenerCount(pidOf(m));
            return now === listeners;
          };
          await until(settled, 'listeners settled', 5000).catch(() => {});
          const ok = recoveryMs <= recoveryLimitMs && now === listeners;
          out.push({
            ok,
            recoveryMs,
            ...(now === listeners ? {} : { note: `listeners ${listeners} -> ${now}` }),
            ...(recoveryMs > recoveryLimitMs ? { note: `recovery over ${recoveryLimitMs} ms` } : {}),
          });
        } catch (err) {
          out.push({ ok: false, note: (err as Error).message.split('\n')[0] ?? 'failed' });
        }
      }
    } finally {
      await m.close();
    }
    return out;
  };
}

/** A remote port opened now is mirrored (the agent works again); resolves with the check the recovery waits on. */
async function newServiceCheck(m: Mirror) {
  const svc = await m.host.serve('tcp-echo', 0, '127.0.0.1');
  const since = m.cli.events.length;
  return {
    after: async () => {
      const e = m.cli.events
        .slice(since)
        .find((x) => x.event === 'forward_added' && x.remote_port === svc.port && x.protocol === 'tcp');
      if (!e) return false;
      await svc.stop();
      return true;
    },
  };
}

const freeze = (pid: number, ms: number) =>
  new Promise<void>((resolve) => {
    process.kill(pid, 'SIGSTOP');
    setTimeout(() => {
      process.kill(pid, 'SIGCONT');
      resolve();
    }, ms);
  });

export const PROCESS_FAULTS: FaultRow[] = [
  {
    id: 'sshd-restart',
    label: 'sshd restarted (SIGTERM to the listener, as systemctl restart): the session lives on',
    runs: 10,
    quickRuns: 3,
    measure: onMirror(async (m) => {
      await m.host.restartSshdListener();
      return undefined;
    }, 1000),
  },
  {
    id: 'sshd-kill9',
    label: 'sshd and its sessions kill -9, started again: reconnect and the same forwards',
    runs: 10,
    quickRuns: 3,
    measure: onMirror(async (m) => {
      const seen = m.cli.events.length;
      await m.host.stopSshd();
      await until(async () => m.cli.events.slice(seen).some((e) => e.event === 'disconnected'), 'disconnected', 30_000);
      await m.host.startSshd();
      return undefined;
    }, 3000),
  },
  {
    id: 'agent-kill9',
    // a session per run: three agent deaths in a minute on one session switch it to agentless scanning (by design)
    label: 'agent kill -9: restarted, a port opened after it is mirrored (a fresh session per run)',
    runs: 10,
    quickRuns: 3,
    measure: onMirror(
      async (m) => {
        process.kill(agentPid(m), 'SIGKILL');
        return newServiceCheck(m);
      },
      3000,
      { freshEach: true },
    ),
  },
  {
    id: 'agent-stop',
    label: 'agent SIGSTOP 60 s (quick: 10 s) then SIGCONT: a port opened meanwhile is mirrored',
    runs: 2,
    quickRuns: 1,
    measure: onMirror(async (m, ctx) => {
      const pid = agentPid(m);
      const frozen = freeze(pid, ctx.quick ? 10_000 : 60_000);
      const check = await newServiceCheck(m);
      await frozen;
      return check;
    }, 3000),
  },
  {
    id: 'host-stop',
    label: 'host process SIGSTOP 60 s (quick: 10 s, a suspended laptop) then SIGCONT',
    runs: 2,
    quickRuns: 1,
    measure: onMirror(async (m, ctx) => {
      await freeze(pidOf(m), ctx.quick ? 10_000 : 60_000);
      return newServiceCheck(m);
    }, 3000),
  },
  {
    id: 'daemon-kill9',
    label: 'daemon kill -9, then `up`: every host restored on the same local port',
    runs: 5,
    quickRuns: 2,
    measure: daemonKills,
  },
];

/** `up -f` a profile, then per run: kill -9 the daemon, `up` again, time until the forward answers on its port. */
async function daemonKills(runs: number): Promise<RunResult[]> {
  const host = await RemoteHost.start({ quietShell: true });
  const svc = await host.serve('tcp-echo', 0, '127.0.0.1');
  const dir = mkdtempSync(join(tmpdir(), 'pl-faults-daemon-'));
  const env = { PORT_LINKER_HOME: join(dir, 'state'), PORT_LINKER_LOG: undefined, XDG_RUNTIME_DIR: undefined };
  const file = join(dir, 'port-linker.yml');
  host.writeProfile(file, [`    ports: "${svc.port}"`]);
  type Ls = { daemon: { pid: number }; hosts: Array<{ forwards: Array<{ localPort: number }> }> };
  const ls = async () => JSON.parse((await runCli(['ls', '--json'], env)).stdout) as Ls;
  const localPort = async () => (await ls()).hosts[0]?.forwards[0]?.localPort;
  const out: RunResult[] = [];
  try {
    const first = await runCli(['up', '-f', file], env);
    if (first.code !== 0) throw new Error(`up: ${first.stderr.trim()}`);
    await until(async () => (await localPort()) !== undefined, 'the first forward', 20_000);
    const port = (await localPort()) as number;
    for (let i = 0; i < runs; i++) {
      try {
        const { pid } = (await ls()).daemon;
        process.kill(pid, 'SIGKILL');
        await until(async () => !alive(pid), 'the daemon gone', 5000);
        const t0 = performance.now();
        const up = await runCli(['up', '-f', file], env);
        if (up.code !== 0) throw new Error(`up: ${up.stderr.trim()}`);
        await until(async () => echoes(port), `the forward on ${port}`, 30_000);
        const recoveryMs = performance.now() - t0;
        const same = (await localPort()) === port;
        out.push({ ok: same && recoveryMs <= 5000, recoveryMs, ...(same ? {} : { note: 'another local port' }) });
      } catch (err) {
        out.push({ ok: false, note: (err as Error).message.split('\n')[0] ?? 'failed' });
      }
    }
  } finally {
    await runCli(['daemon', 'stop'], env).catch(() => {});
    await svc.stop();
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
