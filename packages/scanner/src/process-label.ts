import { readFileSync } from 'node:fs';

/** comm is cut at 15 bytes (TASK_COMM_LEN - 1); only then is cmdline read for the full name. */
const COMM_MAX = 15;

/**
 * Short label of a Linux process: its comm name (`node`, `python3`, `sshd`). When comm was cut at 15 bytes and
 * the program name in cmdline extends it (`a-very-long-pro` -> `a-very-long-process-name`), the full name.
 * '' when the process is gone or unreadable.
 */
export function linuxProcessLabel(pid: number, procRoot = '/proc'): string {
  let comm: string;
  try {
    comm = readFileSync(`${procRoot}/${pid}/comm`, 'utf8').replace(/\n$/, '');
  } catch {
    return '';
  }
  if (comm.length < COMM_MAX) return comm;
  try {
    const argv0 = readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    const program = argv0.split(' ')[0] ?? '';
    const base = program.slice(program.lastIndexOf('/') + 1);
    return base.length > comm.length && base.startsWith(comm) ? base : comm;
  } catch {
    return comm;
  }
}
