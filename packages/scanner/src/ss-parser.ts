import type { SocketProtocol } from '@port-linker/proto';
import { parseEndpoint } from './endpoint-text.ts';
import type { MalformedHandler, ParseResult, SocketRow } from './socket-rows.ts';

const USERS = /\("((?:[^"\\]|\\.)*)",pid=(\d+)/;

/**
 * Parses `ss -Htlnp` / `ss -Hulnp` / `ss -Htulnp` output (iproute2; a header line, as printed without -H, is
 * skipped). Columns: [Netid] State Recv-Q Send-Q Local:Port Peer:Port [users:(("name",pid=N,fd=N),...)].
 * Without a Netid column the protocol follows from the state: LISTEN is TCP, UNCONN is UDP. A local `*` is a
 * dual-stack IPv6 wildcard (`*:8008`) unless the peer says IPv4 (`0.0.0.0:*`, old iproute2). The process is the
 * first `users:` entry (ss prints the comm name).
 */
export function parseSsOutput(text: string, onMalformed?: MalformedHandler): ParseResult {
  const rows: SocketRow[] = [];
  let malformed = 0;
  const bad = (line: string, reason: string): void => {
    malformed++;
    onMalformed?.(line, reason);
  };
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const first = f[0] ?? '';
    if (first === '' || first === 'State' || first === 'Netid') continue;
    let netid: string | undefined;
    if (!/^[A-Z][A-Z0-9-]*$/.test(first)) {
      netid = f.shift();
    }
    const state = f[0] ?? '';
    let protocol: SocketProtocol;
    if (netid === 'tcp' || (netid === undefined && state === 'LISTEN')) protocol = 'tcp';
    else if (netid === 'udp' || (netid === undefined && state === 'UNCONN')) protocol = 'udp';
    else if (/^[A-Z][A-Z0-9-]*$/.test(state))
      continue; // another state (ESTAB...) or netid (raw, sctp...): not ours
    else {
      bad(line, 'no state column');
      continue;
    }
    if ((protocol === 'tcp' && state !== 'LISTEN') || (protocol === 'udp' && state !== 'UNCONN')) continue;
    if (f.length < 5 || !/^\d+$/.test(f[1] ?? '') || !/^\d+$/.test(f[2] ?? '')) {
      bad(line, 'expected state, queues, local and peer columns');
      continue;
    }
    const local = f[3] ?? '';
    const peer = f[4] ?? '';
    const family = local.startsWith('*:') && peer.startsWith('0.0.0.0:') ? 4 : 0;
    const endpoint = parseEndpoint(local, ':', family);
    if (!endpoint) {
      bad(line, `bad local address ${JSON.stringify(local)}`);
      continue;
    }
    const users = USERS.exec(f.slice(5).join(' '));
    rows.push({
      protocol,
      port: endpoint.port,
      address: endpoint.address,
      process: users ? (users[1] ?? '').replace(/\\(.)/g, '$1') : '',
      pid: users ? Number(users[2]) : 0,
      inode: 0,
    });
  }
  return { rows, malformed };
}
