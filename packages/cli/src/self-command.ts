import { isSea } from 'node:sea';

/**
 * How to run this CLI again (the daemon, its service unit): `node [execArgv] <entry>` from an install or the
 * checkout, or the standalone executable alone (its script is inside it: argv[1] is the executable again).
 */
export function selfCommand(...args: string[]): { program: string; args: string[] } {
  if (isSea()) return { program: process.execPath, args };
  return { program: process.execPath, args: [...process.execArgv, process.argv[1] as string, ...args] };
}
