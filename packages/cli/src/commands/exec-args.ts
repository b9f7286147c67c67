import type { ConnectionFlags } from './exec-command.ts';

/** What `exec`'s command line asks for. */
export interface ExecArgs {
  target: string;
  command: string[];
  flags: ConnectionFlags & { tty?: boolean; stdinNull?: boolean };
}

const WITH_VALUE: Record<string, 'identity' | 'jump' | 'sshConfig' | 'o' | 'passwordFile' | 'persist'> = {
  '-i': 'identity',
  '--identity': 'identity',
  '-J': 'jump',
  '--jump': 'jump',
  '-F': 'sshConfig',
  '--ssh-config': 'sshConfig',
  '-o': 'o',
  '--password-file': 'passwordFile',
  '--persist': 'persist',
};

/**
 * `exec`'s arguments read without commander (it costs more to load than the command takes): options, the target,
 * then the command (after `--`, or every word after the target, as with ssh). undefined for anything it does not
 * know (`--help`, a typo, a missing value): commander then reads it and says what is wrong.
 */
export function parseExecArgs(argv: readonly string[]): ExecArgs | undefined {
  const flags: ExecArgs['flags'] = { identity: [], o: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--' || !a.startsWith('-')) break;
    if (a === '-t' || a === '--tty') flags.tty = true;
    else if (a === '-n' || a === '--no-stdin') flags.stdinNull = true;
    else if (a.startsWith('-o') && a.length > 2) flags.o.push(a.slice(2));
    else {
      const key = WITH_VALUE[a];
      const value = argv[i + 1];
      if (!key || value === undefined) return undefined;
      i++;
      if (key === 'identity') flags.identity.push(value);
      else if (key === 'o') flags.o.push(value);
      else if (key === 'persist') {
        if (!/^\d+$/.test(value)) return undefined;
        flags.persist = Number(value);
      } else flags[key] = value;
    }
  }
  if (argv[i] === '--') return undefined; // `exec -- cmd`: no target
  const target = argv[i];
  if (target === undefined) return undefined;
  const rest = argv.slice(i + 1);
  const command = rest[0] === '--' ? rest.slice(1) : rest;
  return { target, command, flags };
}
