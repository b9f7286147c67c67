import type { HostView } from '@port-linker/daemon/client';
import { renderTable } from '../status-view.ts';
import type { CommandIo } from './command-io.ts';
import { clientFor, type DaemonStatus, versionProblem } from './daemon-client.ts';

/** How long ago, for people: 5s, 3m, 2h, 4d. */
function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** The hosts table of `ls` (pure, for tests). */
export function renderHosts(hosts: readonly HostView[], now: number): string[] {
  if (hosts.length === 0) return [];
  const head = ['host', 'target', 'state', 'since', 'reconnects', 'forwards', 'error'];
  const rows = hosts.map((h) => [
    h.id,
    h.target,
    h.state,
    ago(now - h.since),
    String(h.reconnects),
    String(h.forwards.length),
    h.error ?? '',
  ]);
  const widths = head.map((t, i) => Math.max(t.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

/** `port-linker ls [--json]`: the daemon's hosts and forwards. */
export async function lsCommand(opts: { json?: boolean }, io: CommandIo): Promise<number> {
  const { client } = clientFor(io.env);
  const [status, { hosts }] = await Promise.all([
    client.call<DaemonStatus>('GET', '/v1/status'),
    client.call<{ hosts: HostView[] }>('GET', '/v1/hosts'),
  ]);
  const problem = versionProblem(status);
  if (problem) io.stderr(`port-linker: warning: ${problem}\n`);
  if (opts.json) {
    io.stdout(`${JSON.stringify({ daemon: status, hosts })}\n`);
    return 0;
  }
  if (hosts.length === 0) {
    io.stdout(
      `no hosts in the daemon (pid ${status.pid}): add some with \`port-linker up\` or \`port-linker connect\`\n`,
    );
    return 0;
  }
  const out = renderHosts(hosts, Date.now());
  const forwards = renderTable(
    hosts.flatMap((h) => h.forwards.map((f) => ({ ...f, host: h.id }))),
    false,
  );
  if (forwards.length > 0) out.push('', ...forwards);
  io.stdout(`${out.join('\n')}\n`);
  return 0;
}
