import type { SocketProtocol } from '@port-linker/proto';
import { parseEndpoint, type RowFamily } from './endpoint-text.ts';
import type { MalformedHandler, ParseResult, SocketRow } from './socket-rows.ts';

const PROTO = /^(tcp|udp)(4|6|46)$/;
const ID = /^(\d+|\?+)$/;

/**
 * Parses FreeBSD `sockstat -46l`:
 *   `USER     COMMAND    PID   FD  PROTO  LOCAL ADDRESS         FOREIGN ADDRESS`
 *   `root     sshd       812   4   tcp6   *:22                  *:*`
 *   `root     sendmail   700   4   tcp4   127.0.0.1:25          *:*`
 *   `?        ?          ?     ?   udp4   *:5353                *:*`
 * IPv6 addresses are printed without brackets (`::1:25`): the port is after the last colon. Rows are kept
 * when the foreign address is `*:*` (sockstat's own "listening" test is "no foreign port"). Columns after
 * FOREIGN ADDRESS (newer releases add some) are ignored; the command may contain spaces, so the PROTO
 * column is found first and PID and FD are read left of it.
 */
export function parseSockstat(text: string, onMalformed?: MalformedHandler): ParseResult {
  const rows: SocketRow[] = [];
  let malformed = 0;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 1 && f[0] === '') continue;
    if (f[0] === 'USER') continue;
    let at = -1;
    for (let i = 3; i < f.length; i++) {
      if (PROTO.test(f[i] ?? '') && ID.test(f[i - 1] ?? '') && ID.test(f[i - 2] ?? '')) {
        at = i;
        break;
      }
    }
    if (at < 0) {
      if (!/^(stream|dgram|seqpac|seqpacket|sctp\d*|div\d*)$/.test(f[4] ?? '')) {
        malformed++;
        onMalformed?.(line, 'no tcp/udp PROTO column');
      }
      continue;
    }
    const proto = f[at] ?? '';
    const protocol: SocketProtocol = proto.startsWith('tcp') ? 'tcp' : 'udp';
    const foreign = f[at + 2] ?? '';
    if (foreign !== '*:*') continue;
    const family: RowFamily = proto.endsWith('46') ? 46 : proto.endsWith('4') ? 4 : 6;
    const endpoint = parseEndpoint(f[at + 1] ?? '', ':', family);
    if (!endpoint) {
      malformed++;
      onMalformed?.(line, `bad local address ${JSON.stringify(f[at + 1])}`);
      continue;
    }
    const pidText = f[at - 2] ?? '';
    const command = f.slice(1, at - 2).join(' ');
    rows.push({
      protocol,
      port: endpoint.port,
      address: endpoint.address,
      process: command === '?' ? '' : command,
      pid: /^\d+$/.test(pidText) ? Number(pidText) : 0,
      inode: 0,
    });
  }
  return { rows, malformed };
}
