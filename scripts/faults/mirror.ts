import { readFileSync } from 'node:fs';
import { RemoteHost, type Service } from '../../test/harness/index.ts';
import { CliProcess } from '../../test/support/cli-process.ts';

/** One harness host mirrored by a foreground port-linker, with an echo service whose forward the runs probe. */
export interface Mirror {
  host: RemoteHost;
  svc: Service;
  cli: CliProcess;
  /** The echo service's local port. */
  local: number;
  close(): Promise<void>;
}

export async function mirror(): Promise<Mirror> {
  const host = await RemoteHost.start({ quietShell: true });
  const svc = await host.serve('tcp-echo', 0, '127.0.0.1');
  const cli = CliProcess.against(host, [], { PORT_LINKER_LOG: 'info' });
  const fwd = await cli.forwardFor(svc.port);
  return {
    host,
    svc,
    cli,
    local: fwd.local_port as number,
    close: async () => {
      await cli.stop('SIGKILL').catch(() => {});
      await svc.stop();
      await host.close();
    },
  };
}

/**
 * The pid of the agent now running (from the newest `agent` event). Never 0 or 1, nor this process: a signal to
 * pid 0 would go to the whole process group, the suite included.
 */
export function agentPid(m: Mirror): number {
  const pid = [...m.cli.events].reverse().find((e) => e.event === 'agent')?.pid;
  if (typeof pid !== 'number' || pid <= 1 || pid === process.pid)
    throw new Error(`no agent pid to signal (newest agent event: ${JSON.stringify(pid)})`);
  // a pid of an agent that exited may be another process's by now: only ever signal the agent itself
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    // gone
  }
  if (!/port-linker-agent|agent\.cjs|[0-9a-f]{64}/.test(cmdline))
    throw new Error(`pid ${pid} is not an agent (${cmdline.slice(0, 80) || 'no such process'})`);
  return pid;
}
