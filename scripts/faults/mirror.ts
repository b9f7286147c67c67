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

/** The pid of the agent now running (from the newest `agent` event). */
export const agentPid = (m: Mirror) => [...m.cli.events].reverse().find((e) => e.event === 'agent')?.pid as number;
