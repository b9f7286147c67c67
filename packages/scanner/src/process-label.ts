import { readFileSync } from 'node:fs';

/** comm is cut at 15 bytes (TASK_COMM_LEN - 1); only then is cmdline read for the full name. */
const COMM_MAX = 15;

/**
 * comm names that say nothing about the program: Node 24 and later name their main thread `MainThread`, and a
 * process's comm is its main thread's name, so every Node server would be labelled `MainThread`. For these the
 * program name in cmdline is the label.
 */
export const THREAD_NAMED_COMMS: readonly string[] = ['MainThread'];

/** The program's base name in the first cmdline argument: `/usr/bin/node` -> `node`, `sshd: user` -> `sshd:`. */
function programBase(argv0: string): string {
  const program = argv0.split(' ')[0] ?? '';
  return program.slice(program.lastIndexOf('/') + 1);
}

/**
 * The label for a process from its comm and, when known, its first cmdline argument: comm, unless comm was cut
 * at 15 bytes and argv0 extends it (`a-very-long-pro` -> `a-very-long-process-name`) or comm is a thread name
 * (THREAD_NAMED_COMMS) and argv0 names the program.
 */
export function processLabel(comm: string, argv0: string | undefined): string {
  if (argv0 === undefined) return comm;
  const base = programBase(argv0);
  if (THREAD_NAMED_COMMS.includes(comm)) return base === '' ? comm : base;
  if (comm.length < COMM_MAX) return comm;
  return base.length > comm.length && base.startsWith(comm) ? base : comm;
}

/** Whether processLabel would use argv0 for this comm (so cmdline is read only then). */
export function needsArgv0(comm: string): boolean {
  return comm.length >= COMM_MAX || THREAD_NAMED_COMMS.includes(comm);
}

/**
 * Short label of a Linux process (see processLabel): its comm name (`node`, `python3`, `sshd`), or the program
 * name from cmdline when comm was cut or is a thread name. '' when the process is gone or unreadable.
 */
export function linuxProcessLabel(pid: number, procRoot = '/proc'): string {
  let comm: string;
  try {
    comm = readFileSync(`${procRoot}/${pid}/comm`, 'utf8').replace(/\n$/, '');
  } catch {
    return '';
  }
  if (!needsArgv0(comm)) return comm;
  try {
    return processLabel(comm, readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '');
  } catch {
    return comm;
  }
}
