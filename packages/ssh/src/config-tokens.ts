import { createHash } from 'node:crypto';
import { SshUsageError } from './errors.ts';

/** Values for OpenSSH's percent tokens (ssh_config(5) TOKENS); a missing entry makes its token an error. */
export type TokenValues = Partial<
  Record<'C' | 'd' | 'h' | 'i' | 'j' | 'k' | 'L' | 'l' | 'n' | 'p' | 'r' | 'u', string>
>;

/** Expands `%x` tokens (and `%%`); an unknown or unavailable token is a usage error naming the directive. */
export function expandTokens(text: string, values: TokenValues, directive: string): string {
  return text.replace(/%(.)?/g, (_all, ch: string | undefined) => {
    if (ch === '%') return '%';
    const value = ch === undefined ? undefined : values[ch as keyof TokenValues];
    if (value === undefined) {
      throw new SshUsageError(
        `${directive} "${text}": token %${ch ?? ''} is not supported here; write %% for a literal %`,
      );
    }
    return value;
  });
}

/** Expands a leading `~/` (or a lone `~`) to the home directory, as OpenSSH's tilde_expand does. */
export function expandTilde(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return `${home}${path.slice(1)}`;
  return path;
}

/** `%C`: SHA-1 of local hostname + remote hostname + port + remote user, hex (OpenSSH 9.2 connection hash). */
export function connectionHash(localHost: string, host: string, port: number, user: string): string {
  return createHash('sha1').update(`${localHost}${host}${port}${user}`).digest('hex');
}
