import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteHost, type Service } from '../../test/harness/index.ts';
import { CliProcess } from '../../test/support/cli-process.ts';
import { startWanLink } from '../bench/wan-link.ts';

/** One harness host mirrored by a foreground port-linker, with an echo service whose forward the runs probe. */
export interface Mirror {
  host: RemoteHost;
  svc: Service;
  cli: CliProcess;
  /** The echo service's local port. */
  local: number;
  /** A UDP echo's local port (with `udp`). */
  udpLocal?: number;
  /** The same UDP echo reached straight over the link, no port-linker (with `udp`): the baseline. */
  udpDirect?: { address: string; port: number };
  close(): Promise<void>;
}

export interface MirrorOptions {
  /** Reach the host over wan-relay.py (scripts/bench/wan-link.ts): delay client->server, and loss (0..1). */
  wan?: { delayMs: number; loss: number };
  /** Also serve a UDP echo and wait for its forward. */
  udp?: boolean;
  /** More port-linker arguments (before the target). */
  extra?: string[];
}

export async function mirror(opts: MirrorOptions = {}): Promise<Mirror> {
  const host = await RemoteHost.start({ quietShell: true });
  const dir = mkdtempSync(join(tmpdir(), 'pl-faults-mirror-'));
  const wan = opts.wan ? await startWanLink(host, dir, opts.wan.delayMs, opts.wan.loss) : undefined;
  const svc = await host.serve('tcp-echo', 0, '127.0.0.1');
  // on every address: mirrored, and reachable straight over the link for the baseline
  const udp = opts.udp ? await host.serve('udp-echo', 0, '0.0.0.0') : undefined;
  const env = { PORT_LINKER_LOG: process.env.FAULTS_CLI_LOG ?? 'info' };
  const cli = wan
    ? new CliProcess(
        [
          ...['--json', '--no-notify', '-i', wan.target.keyPath],
          ...['-o', `UserKnownHostsFile=${wan.target.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes'],
          ...(opts.extra ?? []),
          `${wan.target.user}@${wan.target.address}`,
        ],
        env,
      )
    : CliProcess.against(host, opts.extra ?? [], env);
  // over the lossy link a lost SYN or handshake packet costs seconds of TCP backoff (seen once past 15 s)
  const setupMs = wan ? 60_000 : 15_000;
  const fwd = await cli.forwardFor(svc.port, 'tcp', setupMs);
  const udpFwd = udp ? await cli.forwardFor(udp.port, 'udp', setupMs) : undefined;
  return {
    host,
    svc,
    cli,
    local: fwd.local_port as number,
    ...(udpFwd && udp
      ? {
          udpLocal: udpFwd.local_port as number,
          udpDirect: { address: wan ? wan.target.address : host.address, port: udp.port },
        }
      : {}),
    close: async () => {
      await cli.stop('SIGKILL').catch(() => {});
      await svc.stop();
      await udp?.stop();
      await wan?.stop();
      await host.close();
      rmSync(dir, { recursive: true, force: true });
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
