import { connect } from 'node:net';
import type { AgentLink } from '@port-linker/deploy';
import { dialAddress } from '@port-linker/forward';
import type { ListeningSocket } from '@port-linker/proto';
import { parseSsOutput } from '@port-linker/scanner';
import type { SshConnection } from '@port-linker/ssh';
import type { DaemonView } from './port-explain.ts';
import { scanOnce } from './scanner-check.ts';
import { errorText } from './step-runner.ts';

/** What the remote says about one port beyond the scan: pids (ss) and the interface of every address. */
export async function remotePortFacts(
  conn: SshConnection,
  port: number,
): Promise<{ pids: Map<string, number>; interfaces: Map<string, string> }> {
  const script = `ss -Hlntup 2>/dev/null\necho ==ifaces\nip -o addr show 2>/dev/null`;
  const r = await conn.exec('sh -s', { stdin: script, timeoutMs: 10_000 }).catch(() => undefined);
  const text = r?.stdout.toString('utf8') ?? '';
  const [ss = '', ifaces = ''] = text.split('==ifaces\n');
  const pids = new Map<string, number>();
  for (const row of parseSsOutput(ss).rows)
    if (row.port === port && row.pid > 0) pids.set(`${row.protocol}/${row.address}`, row.pid);
  const interfaces = new Map<string, string>();
  for (const line of ifaces.split('\n')) {
    const m = /^\d+:\s+(\S+?)(?:@\S+)?\s+inet6?\s+([^/\s]+)/.exec(line);
    if (m?.[1] && m[2]) interfaces.set(m[2], m[1]);
  }
  return { pids, interfaces };
}

/** The remote's listeners on `port`, from one agent scan. */
export async function socketsOn(link: AgentLink, port: number): Promise<ListeningSocket[]> {
  return (await scanOnce(link)).filter((s) => s.port === port);
}

/** Connects to a local forward and waits a moment: data or a connection held open = it answers. */
export function probeLocal(port: number, waitMs = 700): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let settled = false;
    const done = (r: { ok: boolean; detail: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () =>
        done({ ok: true, detail: `127.0.0.1:${port} accepted a connection that stays open (the remote end answers)` }),
      waitMs,
    );
    sock.once('data', (d: Buffer) =>
      done({ ok: true, detail: `127.0.0.1:${port} answered: ${JSON.stringify(d.subarray(0, 40).toString('latin1'))}` }),
    );
    sock.once('close', () =>
      done({
        ok: false,
        detail: `127.0.0.1:${port} accepted and closed at once: the remote end did not take the connection`,
      }),
    );
    sock.once('error', (err) => done({ ok: false, detail: `127.0.0.1:${port}: ${errorText(err)}` }));
  });
}

/** The end-to-end check: through the daemon's local port when it forwards one, else a direct-tcpip channel. */
export async function endToEnd(
  conn: SshConnection,
  port: number,
  sockets: readonly ListeningSocket[],
  daemon: DaemonView,
  target: string,
): Promise<{ ok: boolean; detail: string } | undefined> {
  const tcp = sockets.filter((s) => s.protocol === 'tcp');
  if (tcp.length === 0) return undefined;
  if (daemon.running) {
    const f = daemon.forwards.find((x) => x.remotePort === port && x.protocol === 'tcp' && x.host === target);
    if (f) return probeLocal(f.localPort);
  }
  const dial = dialAddress(tcp.map((s) => s.address)) ?? tcp[0]?.address ?? '127.0.0.1';
  try {
    const ch = await conn.forwardOut(dial, port);
    ch.destroy();
    return {
      ok: true,
      detail: `a direct-tcpip channel to ${dial}:${port} on the remote opened: the service accepts connections`,
    };
  } catch (err) {
    return { ok: false, detail: `a direct-tcpip channel to ${dial}:${port} failed: ${errorText(err)}` };
  }
}
