import type { HostView } from '@port-linker/client';
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

/** A header and rows as left-aligned columns two spaces apart. */
function aligned(head: string[], rows: string[][]): string[] {
  const widths = head.map((t, i) => Math.max(t.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
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
  return aligned(head, rows);
}

/** The `-R` table of `ls` (pure, for tests): where each remote listener is and whether the server gave it. */
export function renderRemoteForwards(hosts: readonly HostView[]): string[] {
  const rows = hosts.flatMap((h) =>
    (h.remoteForwards ?? []).map((r) => {
      const at =
        r.remotePath ??
        `${r.bindAddress || '*'}:${r.remotePort ?? (r.requestedPort === 0 ? '(any)' : r.requestedPort)}`;
      return [h.id, `-R ${r.spec}`, at, r.target, r.reason ? `${r.state}: ${r.reason}` : r.state];
    }),
  );
  if (rows.length === 0) return [];
  const head = ['host', 'forward', 'remote', 'target', 'state'];
  return aligned(head, rows);
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
  const remote = renderRemoteForwards(hosts);
  if (remote.length > 0) out.push('', ...remote);
  io.stdout(`${out.join('\n')}\n`);
  return 0;
}
