import type { SocketProtocol } from '@port-linker/proto';
import { ScannerError } from './errors.ts';
import { parseNetstatFreebsd, parseNetstatLinux, parseNetstatMacos } from './netstat-parser.ts';
import { processLabel, THREAD_NAMED_COMMS } from './process-label.ts';
import { parseProcNetFile } from './procfs-parser.ts';
import type { ScanOptions, ScanResult } from './scanner-types.ts';
import { type MalformedHandler, type ParseResult, toScanResult } from './socket-rows.ts';
import { parseSockstat } from './sockstat-parser.ts';
import { parseSsOutput } from './ss-parser.ts';

/** Start of every section marker line the agentless script prints (`==port-linker== procfs tcp`). */
export const REMOTE_MARKER = '==port-linker==';

/**
 * The POSIX sh script the host runs over SSH exec when no agent can run. It prints marked sections:
 * the /proc/net files when readable (plus `ls -l /proc/<pid>/fd` socket links and `head` of each comm, so
 * processes get names), else `ss -H...lnp`, else netstat (net-tools, macOS `-anv`, FreeBSD sockstat or
 * netstat), else a `none` section. One shell, no loops over processes: a handful of processes per run.
 */
export function remoteScanScript(options: ScanOptions): string {
  const procFiles = [...(options.tcp ? ['tcp', 'tcp6'] : []), ...(options.udp ? ['udp', 'udp6'] : [])];
  const letters = `${options.tcp ? 't' : ''}${options.udp ? 'u' : ''}`;
  const bsdProtocols = [...(options.tcp ? ['tcp'] : []), ...(options.udp ? ['udp'] : [])];
  const lines = [
    'LC_ALL=C; export LC_ALL',
    `pl_mark() { printf '\\n%s %s\\n' '${REMOTE_MARKER}' "$*"; }`,
    'pl_mark begin 1',
  ];
  if (letters === '') {
    lines.push('pl_mark end');
    return `${lines.join('\n')}\n`;
  }
  lines.push(
    'if [ -r /proc/net/tcp ] || [ -r /proc/net/udp ]; then',
    `  for pl_f in ${procFiles.join(' ')}; do`,
    '    if [ -r "/proc/net/$pl_f" ]; then pl_mark procfs "$pl_f"; cat "/proc/net/$pl_f"; fi',
    '  done',
    '  pl_mark procfs-fd',
    "  ls -l /proc/[0-9]*/fd 2>/dev/null | grep -e '^/proc/' -e 'socket:\\['",
    '  pl_mark procfs-comm',
    '  head -n 1 /proc/[0-9]*/comm 2>/dev/null',
    '  pl_mark procfs-argv0',
    `  for pl_f in $(grep -l -x -e ${THREAD_NAMED_COMMS.map((c) => `'${c}'`).join(' -e ')} /proc/[0-9]*/comm 2>/dev/null); do`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    "    pl_d=${pl_f%/comm}; pl_a=$(tr '\\0' '\\n' < \"$pl_d/cmdline\" 2>/dev/null | head -n 1)",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    '    printf \'%s %s\\n\' "${pl_d#/proc/}" "$pl_a"',
    '  done',
    'elif command -v ss >/dev/null 2>&1; then',
    '  pl_mark ss',
    `  ss -H${letters}lnp 2>/dev/null || ss -${letters}lnp`,
    'elif command -v netstat >/dev/null 2>&1 || command -v sockstat >/dev/null 2>&1; then',
    '  case "$(uname -s)" in',
    `  Linux) pl_mark netstat-linux; netstat -${letters}lnpW 2>/dev/null || netstat -${letters}lnp ;;`,
    '  Darwin)',
    ...bsdProtocols.map(
      (p) => `    pl_mark netstat-macos ${p}; netstat -anvW -p ${p} 2>/dev/null || netstat -anv -p ${p}`,
    ),
    '    ;;',
    '  *)',
    '    if command -v sockstat >/dev/null 2>&1; then pl_mark sockstat; sockstat -46l',
    '    else',
    ...bsdProtocols.map(
      (p) => `      pl_mark netstat-freebsd ${p}; netstat -anW -p ${p} 2>/dev/null || netstat -an -p ${p}`,
    ),
    '    fi ;;',
    '  esac',
    'else',
    '  pl_mark none',
    'fi',
    'pl_mark end',
  );
  return `${lines.join('\n')}\n`;
}

/** One marked section of the agentless script's output. */
interface Section {
  name: string;
  arg: string;
  body: string;
}

function splitSections(text: string): Section[] {
  const sections: Section[] = [];
  let current: { name: string; arg: string; lines: string[] } | undefined;
  const flush = () => {
    if (current) sections.push({ name: current.name, arg: current.arg, body: current.lines.join('\n') });
  };
  for (const line of text.split('\n')) {
    if (line.startsWith(`${REMOTE_MARKER} `)) {
      flush();
      const [name = '', arg = ''] = line
        .slice(REMOTE_MARKER.length + 1)
        .trim()
        .split(/\s+/);
      current = { name, arg, lines: [] };
    } else {
      current?.lines.push(line);
    }
  }
  flush();
  return sections;
}

/**
 * Parses `ls -l /proc/<pid>/fd` output (directory headers `/proc/123/fd:` and link lines ending in
 * `-> socket:[22250]`) into socket inode -> pid.
 */
export function parseFdListing(text: string): Map<number, number> {
  const owners = new Map<number, number>();
  let pid = 0;
  for (const line of text.split('\n')) {
    const dir = /^\/proc\/(\d+)\/fd:$/.exec(line);
    if (dir) {
      pid = Number(dir[1]);
      continue;
    }
    const link = /socket:\[(\d+)\]$/.exec(line.trimEnd());
    if (link && pid > 0 && !owners.has(Number(link[1]))) owners.set(Number(link[1]), pid);
  }
  return owners;
}

/** Parses `head -n 1 /proc/[0-9]*\/comm` output (`==> /proc/123/comm <==` then the name) into pid -> comm. */
export function parseCommListing(text: string): Map<number, string> {
  const names = new Map<number, string>();
  let pid = 0;
  for (const line of text.split('\n')) {
    const head = /^==> \/proc\/(\d+)\/comm <==$/.exec(line);
    if (head) {
      pid = Number(head[1]);
      continue;
    }
    if (pid > 0 && line !== '') {
      names.set(pid, line);
      pid = 0;
    }
  }
  return names;
}

/** Parses the `<pid> <argv0>` lines printed for processes whose comm is a thread name into pid -> argv0. */
export function parseArgv0Listing(text: string): Map<number, string> {
  const argv0s = new Map<number, string>();
  for (const line of text.split('\n')) {
    const m = /^(\d+) (.*)$/.exec(line);
    if (m) argv0s.set(Number(m[1]), m[2] ?? '');
  }
  return argv0s;
}

/**
 * Parses what remoteScanScript printed. Rejects with ScannerError when the output has no markers (the remote
 * shell did not run the script) or says no tool exists; malformed lines inside sections are only counted.
 */
export function parseRemoteScanOutput(text: string, onMalformed?: MalformedHandler): ScanResult {
  const sections = splitSections(text);
  if (!sections.some((s) => s.name === 'begin')) {
    throw new ScannerError(
      undefined,
      'agentless scan output has no port-linker markers; the remote login shell must run POSIX sh commands',
    );
  }
  if (sections.some((s) => s.name === 'none')) {
    throw new ScannerError(
      undefined,
      'the remote has no readable /proc/net, no ss and no netstat; install iproute2 or net-tools there',
    );
  }
  const parts: ParseResult[] = [];
  const procfs: ParseResult[] = [];
  let fdOwners = new Map<number, number>();
  let comms = new Map<number, string>();
  let argv0s = new Map<number, string>();
  for (const s of sections) {
    if (s.name === 'procfs' && /^(tcp|udp)6?$/.test(s.arg)) {
      const part = parseProcNetFile(s.body, s.arg.slice(0, 3) as SocketProtocol, onMalformed);
      procfs.push(part);
      parts.push(part);
    } else if (s.name === 'procfs-fd') fdOwners = parseFdListing(s.body);
    else if (s.name === 'procfs-comm') comms = parseCommListing(s.body);
    else if (s.name === 'procfs-argv0') argv0s = parseArgv0Listing(s.body);
    else if (s.name === 'ss') parts.push(parseSsOutput(s.body, onMalformed));
    else if (s.name === 'netstat-linux') parts.push(parseNetstatLinux(s.body, onMalformed));
    else if (s.name === 'netstat-macos') parts.push(parseNetstatMacos(s.body, onMalformed));
    else if (s.name === 'netstat-freebsd') parts.push(parseNetstatFreebsd(s.body, onMalformed));
    else if (s.name === 'sockstat') parts.push(parseSockstat(s.body, onMalformed));
  }
  for (const part of procfs) {
    for (const row of part.rows) {
      const pid = fdOwners.get(row.inode);
      if (pid === undefined) continue;
      row.pid = pid;
      row.process = processLabel(comms.get(pid) ?? '', argv0s.get(pid));
    }
  }
  return toScanResult(parts);
}
