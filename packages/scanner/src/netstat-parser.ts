import type { SocketProtocol } from '@port-linker/proto';
import { parseEndpoint, type RowFamily } from './endpoint-text.ts';
import type { MalformedHandler, ParseResult } from './socket-rows.ts';

const STATE_WORD = /^[A-Z][A-Z0-9_]*$/;

function collector(onMalformed?: MalformedHandler) {
  const result: ParseResult = { rows: [], malformed: 0 };
  const bad = (line: string, reason: string): void => {
    result.malformed++;
    onMalformed?.(line, reason);
  };
  return { result, bad };
}

/** Shortens a tool's program label to a comm-like name: `sshd: /usr/sbin/sshd` -> `sshd`, `/usr/bin/x` -> `x`. */
export function shortProcessName(label: string): string {
  const first = label.trim().split(/\s+/)[0] ?? '';
  const base = first.slice(first.lastIndexOf('/') + 1);
  return base.endsWith(':') ? base.slice(0, -1) : base;
}

/**
 * Parses Linux net-tools `netstat -tlnp` / `-ulnp` (`-W` or not):
 *   `tcp6       0      0 :::7001        :::*       LISTEN      10344/python3.11`
 *   `udp        0      0 0.0.0.0:68     0.0.0.0:*              567/dhclient`
 * Proto tcp/tcp6/udp/udp6; TCP rows must be LISTEN; UDP rows must have no peer (`*` port). The last column is
 * `PID/Program name` (net-tools takes it from cmdline, truncated) or `-` when the owner is not visible.
 */
export function parseNetstatLinux(text: string, onMalformed?: MalformedHandler): ParseResult {
  const { result, bad } = collector(onMalformed);
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const proto = f[0] ?? '';
    if (!/^(tcp|udp)6?$/.test(proto)) continue; // headers, raw, unix...
    const protocol: SocketProtocol = proto.startsWith('tcp') ? 'tcp' : 'udp';
    if (f.length < 5 || !/^\d+$/.test(f[1] ?? '') || !/^\d+$/.test(f[2] ?? '')) {
      bad(line, 'expected proto, queues, local and foreign columns');
      continue;
    }
    let next = 5;
    const state = f[5] !== undefined && STATE_WORD.test(f[5]) ? f[5] : '';
    if (state) next = 6;
    if (protocol === 'tcp' ? state !== 'LISTEN' : state !== '' || !(f[4] ?? '').endsWith(':*')) continue;
    const endpoint = parseEndpoint(f[3] ?? '', ':', proto.endsWith('6') ? 0 : 4);
    if (!endpoint) {
      bad(line, `bad local address ${JSON.stringify(f[3])}`);
      continue;
    }
    const owner = f.slice(next).join(' ');
    const slash = owner.indexOf('/');
    const pidText = slash > 0 ? owner.slice(0, slash) : '';
    const pid = /^\d+$/.test(pidText) ? Number(pidText) : 0;
    result.rows.push({
      protocol,
      port: endpoint.port,
      address: endpoint.address,
      process: pid ? shortProcessName(owner.slice(slash + 1)) : '',
      pid,
      inode: 0,
    });
  }
  return result;
}

/** Family of a BSD proto column: `tcp4` 4, `tcp6` 6, `tcp46` 46 (dual-stack, reported as IPv6), bare `tcp` 0. */
function bsdFamily(proto: string): RowFamily {
  if (proto.endsWith('46')) return 46;
  if (proto.endsWith('4')) return 4;
  if (proto.endsWith('6')) return 6;
  return 0;
}

interface BsdColumns {
  /** Header names after `(state)`, e.g. `rhiwat shiwat pid epid state options` or `... process:pid state ...`. */
  rest: string[];
  /** Index in `rest` of `pid` or `process:pid`, -1 when the listing has no process column. */
  pid: number;
}

function bsdHeader(f: string[]): BsdColumns {
  const state = f.indexOf('(state)');
  const rest = state >= 0 ? f.slice(state + 1) : [];
  let pid = rest.indexOf('process:pid');
  if (pid < 0) pid = rest.indexOf('pid');
  return { rest, pid };
}

/**
 * Shared row parser of BSD-style `netstat -an` (macOS and FreeBSD):
 *   `tcp4       0      0  127.0.0.1.631     *.*      LISTEN   [verbose columns...]`
 *   `udp46      0      0  *.5353            *.*               [verbose columns...]`
 * The address and port are split at the last dot. UDP rows have no state column and must have peer `*.*`.
 * With macOS `-v`, the process comes from the `pid` column (older releases, name left empty) or the
 * `process:pid` column (`name:pid`; the name may contain spaces, so that column is located from both ends).
 */
function parseNetstatBsd(text: string, onMalformed?: MalformedHandler): ParseResult {
  const { result, bad } = collector(onMalformed);
  let header: BsdColumns = { rest: [], pid: -1 };
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const proto = f[0] ?? '';
    if (proto === 'Proto') {
      header = bsdHeader(f);
      continue;
    }
    if (!/^(tcp|udp)(4|6|46)?$/.test(proto)) continue;
    const protocol: SocketProtocol = proto.startsWith('tcp') ? 'tcp' : 'udp';
    if (f.length < 5 || !/^\d+$/.test(f[1] ?? '') || !/^\d+$/.test(f[2] ?? '')) {
      bad(line, 'expected proto, queues, local and foreign columns');
      continue;
    }
    const state = protocol === 'tcp' ? (f[5] ?? '') : '';
    if (protocol === 'tcp' ? state !== 'LISTEN' : f[4] !== '*.*') continue;
    const endpoint = parseEndpoint(f[3] ?? '', '.', bsdFamily(proto));
    if (!endpoint) {
      bad(line, `bad local address ${JSON.stringify(f[3])}`);
      continue;
    }
    let pid = 0;
    let process = '';
    if (header.pid >= 0) {
      const data = f.slice(protocol === 'tcp' ? 6 : 5);
      const after = header.rest.length - header.pid - 1;
      const cell = data.slice(header.pid, data.length - after).join(' ');
      const colon = cell.lastIndexOf(':');
      const pidText = colon >= 0 ? cell.slice(colon + 1) : cell;
      if (/^\d+$/.test(pidText)) {
        pid = Number(pidText);
        process = colon >= 0 ? cell.slice(0, colon) : '';
      }
    }
    result.rows.push({ protocol, port: endpoint.port, address: endpoint.address, process, pid, inode: 0 });
  }
  return result;
}

/** Parses macOS `netstat -anv -p tcp` / `-p udp` (with `-W` or not); see parseNetstatBsd for the columns. */
export function parseNetstatMacos(text: string, onMalformed?: MalformedHandler): ParseResult {
  return parseNetstatBsd(text, onMalformed);
}

/** Parses FreeBSD `netstat -an -p tcp` / `-p udp` (no process column: process stays empty). */
export function parseNetstatFreebsd(text: string, onMalformed?: MalformedHandler): ParseResult {
  return parseNetstatBsd(text, onMalformed);
}
