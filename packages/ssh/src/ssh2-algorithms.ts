// Vendor patches S1, S2 (ssh2@1.17.0 lib/protocol/constants.js and crypto.js): see docs/vendor-patches.md.
import constants from 'ssh2/lib/protocol/constants.js';
import crypto from 'ssh2/lib/protocol/crypto.js';
import { SshUsageError } from './errors.ts';
import { matchCommaList } from './host-pattern.ts';

/** Whether ssh2 loaded its native crypto binding (without it bulk transfer is about 13x slower). */
export const nativeCryptoAvailable: boolean = crypto.bindingAvailable === true;

/** ssh2's default host key algorithm order. */
export const defaultHostKeyAlgorithms: readonly string[] = constants.DEFAULT_SERVER_HOST_KEY;

/**
 * Resolves an OpenSSH `Ciphers` value to the list ssh2 will offer: a plain list replaces the default,
 * `+list` appends, `-patterns` removes, `^list` prepends; ciphers ssh2 cannot do are dropped.
 * Throws SshUsageError when nothing usable is left.
 */
export function resolveCiphers(value: string, source: string): string[] {
  const supported = constants.SUPPORTED_CIPHER;
  const defaults = constants.DEFAULT_CIPHER;
  const op = value[0];
  const list = (op === '+' || op === '-' || op === '^' ? value.slice(1) : value).split(',').filter((c) => c !== '');
  const expand = (patterns: string[]) => supported.filter((c) => patterns.some((p) => matchCommaList(c, p, true)));
  let result: string[];
  if (op === '+') result = [...defaults, ...expand(list).filter((c) => !defaults.includes(c))];
  else if (op === '-') result = defaults.filter((c) => !list.some((p) => matchCommaList(c, p, true)));
  else if (op === '^') {
    const front = expand(list);
    result = [...front, ...defaults.filter((c) => !front.includes(c))];
  } else result = list.filter((c) => supported.includes(c.toLowerCase())).map((c) => c.toLowerCase());
  if (result.length === 0) {
    throw new SshUsageError(
      `Ciphers "${value}" (${source}) leaves no cipher this client supports; supported: ${supported.join(',')}`,
    );
  }
  return result;
}

/** Host key algorithms to offer, those of key types already in known_hosts first (as OpenSSH orders them). */
export function orderHostKeyAlgorithms(knownTypes: ReadonlySet<string>): string[] {
  const known = (alg: string) => knownTypes.has(alg.startsWith('rsa-sha2-') ? 'ssh-rsa' : alg);
  return [...defaultHostKeyAlgorithms.filter(known), ...defaultHostKeyAlgorithms.filter((a) => !known(a))];
}
