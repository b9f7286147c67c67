import type { ResolvedHost } from './config-resolve.ts';
import { HostKeyError, hostLabel } from './errors.ts';
import {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  type KnownHostEntry,
  keyTypeLabel,
  keyTypeOfBlob,
  knownHostName,
  knownKeyTypes,
  parseKnownHosts,
  readKnownHostsFile,
} from './known-hosts.ts';
import type { Prompter } from './prompt.ts';
import type { LogFn } from './ssh-log.ts';

/** What host-key verification needs. */
export interface HostKeyVerifyOptions {
  host: ResolvedHost;
  /** Undefined: no terminal, never ask. */
  prompt: Prompter | undefined;
  log: LogFn;
  /** Runs a user prompt with the connect timeout paused. */
  paused: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** Verifies server host keys against known_hosts under the host's StrictHostKeyChecking policy. */
export class HostKeyVerifier {
  readonly #o: HostKeyVerifyOptions;
  readonly #name: string;
  readonly #entries: KnownHostEntry[];

  constructor(options: HostKeyVerifyOptions) {
    this.#o = options;
    const h = options.host;
    this.#name = knownHostName(h.hostname, h.port);
    const files = [...h.userKnownHostsFiles, ...(h.globalKnownHostsFiles ?? [])];
    this.#entries = files.flatMap((f) => readKnownHostsFile(f));
  }

  /** Key types already known for this host, to prefer those algorithms in key exchange. */
  knownTypes(): Set<string> {
    return knownKeyTypes(this.#entries, this.#name);
  }

  /** Resolves when the key is acceptable (recording it if the policy says so); rejects with HostKeyError. */
  async verify(key: Buffer): Promise<void> {
    const { host, log } = this.#o;
    const label = hostLabel(host);
    const fp = fingerprint(key);
    const type = keyTypeLabel(keyTypeOfBlob(key));
    const result = checkHostKey(this.#entries, this.#name, key);
    const where = (e: KnownHostEntry) => `${e.file}:${e.line}`;
    switch (result.status) {
      case 'known':
        log('debug', `${label}: host key ${type} ${fp} found in ${where(result.entry)}`);
        return;
      case 'revoked':
        throw new HostKeyError(
          label,
          'revoked',
          fp,
          `${label}: host key ${type} ${fp} is marked @revoked in ${where(result.entry)}; refusing to connect - ask the host's admin for its current key`,
        );
      case 'changed': {
        log('error', `@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for ${label} (${type} ${fp}) @@@`);
        throw new HostKeyError(
          label,
          'changed',
          fp,
          `${label}: HOST KEY CHANGED (server now sends ${type} ${fp}; ${where(result.entry)} holds another) - someone may be intercepting the connection; if the host was reinstalled, remove the old key with: ssh-keygen -R '${this.#name}' -f ${result.entry.file}`,
        );
      }
      case 'unknown':
        return this.#unknown(key, type, fp, result.otherTypes);
    }
  }

  async #unknown(key: Buffer, type: string, fp: string, otherTypes: string[]): Promise<void> {
    const { host, log } = this.#o;
    const label = hostLabel(host);
    const policy = host.strictHostKeyChecking;
    const other = otherTypes.length ? ` (known_hosts has ${otherTypes.map(keyTypeLabel).join(', ')} keys for it)` : '';
    if (policy === 'yes') {
      throw new HostKeyError(
        label,
        'unknown',
        fp,
        `${label}: host key ${type} ${fp} is not in known_hosts${other} and StrictHostKeyChecking=yes; check the fingerprint with the host's admin, then connect once with -o StrictHostKeyChecking=accept-new`,
      );
    }
    if (policy === 'ask') {
      if (!this.#o.prompt || host.batchMode) {
        throw new HostKeyError(
          label,
          'unknown',
          fp,
          `${label}: host key ${type} ${fp} is not in known_hosts${other} and there is no terminal to confirm it; connect once on a terminal, or pass -o StrictHostKeyChecking=accept-new`,
        );
      }
      const prompt = this.#o.prompt;
      const accepted = await this.#o.paused(() => confirmKey(prompt, this.#name, type, fp, other).catch(() => false));
      if (!accepted) {
        throw new HostKeyError(
          label,
          'unknown',
          fp,
          `${label}: host key ${type} ${fp} was not accepted; not connecting`,
        );
      }
    }
    this.#record(key, type);
    if (policy === 'no') log('warn', `${label}: accepted unknown host key ${type} ${fp} (StrictHostKeyChecking=no)`);
  }

  #record(key: Buffer, type: string): void {
    const { host, log } = this.#o;
    const file = host.userKnownHostsFiles[0];
    if (!file) return;
    try {
      const line = appendKnownHost(file, this.#name, key, host.hashKnownHosts === true);
      this.#entries.push(...parseKnownHosts(line, file));
      log('info', `Permanently added '${this.#name}' (${type}) to the list of known hosts (${file}).`);
    } catch (err) {
      log('warn', `${hostLabel(host)}: could not add the host key to ${file}: ${(err as Error).message}`);
    }
  }
}

async function confirmKey(prompt: Prompter, name: string, type: string, fp: string, other: string): Promise<boolean> {
  let question =
    `The authenticity of host '${name}' can't be established${other}.\n` +
    `${type} key fingerprint is ${fp}.\n` +
    'Are you sure you want to continue connecting (yes/no/[fingerprint])? ';
  for (;;) {
    const answer = (await prompt.ask(question, { secret: false })).trim();
    if (answer.toLowerCase() === 'yes' || answer === fp) return true;
    if (answer.toLowerCase() === 'no' || answer === '') return false;
    if (answer.startsWith('SHA256:')) return false;
    question = "Please type 'yes', 'no' or the fingerprint: ";
  }
}
