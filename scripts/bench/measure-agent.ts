import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { descendants, type RemoteHost } from '../../test/harness/index.ts';
import { cmdline, cpuPercent, rssMb } from './measure-process.ts';

/** The PID of the port-linker agent running under the host's sshd (found by its --silence-timeout-ms flag). */
export function agentPid(host: RemoteHost): number | undefined {
  const sshd = Number(readFileSync(join(host.dir, 'sshd.pid'), 'utf8').trim());
  return descendants(sshd).find((p) => cmdline(p).includes('--silence-timeout-ms'));
}

/**
 * Agent CPU % over `ms` while nothing changes in its namespace, its RSS in MB, and how many processes it
 * can see (the harness shares the PID namespace with the machine: the agent's procfs scan walks them all).
 */
export async function agentIdleFigures(
  host: RemoteHost,
  ms: number,
): Promise<{ cpu: number; rss: number; procs: number }> {
  const pid = agentPid(host);
  if (!pid) throw new Error('no agent process found under sshd');
  const cpu = await cpuPercent(pid, ms);
  const procs = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).length;
  return { cpu, rss: rssMb(pid), procs };
}
