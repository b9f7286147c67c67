// Where a workload's CPU goes, per request: the tunnel client on this side (ssh or port-linker) and the tunnel's far
// end in the namespace (sshd, the agent), from /proc (utime/stime of every thread; read/write-family syscalls).
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';

/** CPU and syscalls of a set of processes since boot (ms, counts). */
export interface CpuSample {
  userMs: number;
  kernelMs: number;
  syscalls: number;
}

const TICK_MS = 10; // CLK_TCK 100 on Linux x86-64

function processSample(pid: number): CpuSample {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command (which may hold spaces): state is field 3, utime 14, stime 15
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const count = (k: string) => Number(new RegExp(`^${k}: (\\d+)`, 'm').exec(io)?.[1] ?? 0);
    return {
      userMs: Number(f[11]) * TICK_MS,
      kernelMs: Number(f[12]) * TICK_MS,
      syscalls: count('syscr') + count('syscw'),
    };
  } catch {
    return { userMs: 0, kernelMs: 0, syscalls: 0 }; // gone
  }
}

function sum(samples: CpuSample[]): CpuSample {
  return samples.reduce(
    (a, b) => ({ userMs: a.userMs + b.userMs, kernelMs: a.kernelMs + b.kernelMs, syscalls: a.syscalls + b.syscalls }),
    { userMs: 0, kernelMs: 0, syscalls: 0 },
  );
}

/** Processes in network namespace `ns` (ip netns) whose command is one of `comms`. */
function namespacePids(ns: string, comms: string[]): number[] {
  const inode = statSync(`/run/netns/${ns}`).ino;
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/net`) !== `net:[${inode}]`) continue;
      if (comms.includes(readFileSync(`/proc/${name}/comm`, 'utf8').trim())) pids.push(Number(name));
    } catch {
      // gone, or a kernel thread
    }
  }
  return pids;
}

/** A process's direct children (every thread's /proc children list). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const list = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (list) out.push(...list.split(' ').map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

/**
 * The tunnel's two ends now: `client` on this side (the tunnel process and its children: `--data-path openssh`'s
 * ControlMaster carries the bytes there), sshd and the agent (node) inside `ns`.
 */
export function tunnelCpu(clientPid: number, ns: string): { client: CpuSample; remote: CpuSample } {
  return {
    client: sum([clientPid, ...childPids(clientPid)].map(processSample)),
    remote: sum(namespacePids(ns, ['sshd', 'node', 'port-linker-age']).map(processSample)),
  };
}

/** Per request between two samples, µs and counts. */
export function perRequest(
  a: ReturnType<typeof tunnelCpu>,
  b: ReturnType<typeof tunnelCpu>,
  requests: number,
): { clientUserUs: number; clientKernelUs: number; clientSyscalls: number; remoteUs: number } {
  const per = (v: number) => v / Math.max(1, requests);
  return {
    clientUserUs: per((b.client.userMs - a.client.userMs) * 1000),
    clientKernelUs: per((b.client.kernelMs - a.client.kernelMs) * 1000),
    clientSyscalls: per(b.client.syscalls - a.client.syscalls),
    // a far-end process that exited in between is left out of both samples only if it exited before the first
    remoteUs: per((b.remote.userMs + b.remote.kernelMs - a.remote.userMs - a.remote.kernelMs) * 1000),
  };
}
