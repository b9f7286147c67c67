import { existsSync } from 'node:fs';
import ssh2, {
  type AnyAuthMethod,
  type AuthenticationType,
  type AuthHandlerMiddleware,
  type IdentityCallback,
  type KeyboardInteractiveCallback,
  type ParsedKey,
  type Prompt,
  type PublicKeyEntry,
} from 'ssh2';
import type { ResolvedHost } from './config-resolve.ts';
import { AuthError, hostLabel } from './errors.ts';
import { decryptIdentity, type IdentityFile, publicBlobOf, readIdentityFile } from './key-files.ts';
import type { LogFn } from './ssh-log.ts';

/** Reads a secret (passphrase or password); undefined when none can be asked (no TTY, BatchMode) or cancelled. */
export type SecretReader = (question: string) => Promise<string | undefined>;
/** Asks a keyboard-interactive question (echo decides secrecy); undefined when it cannot be asked. */
export type QuestionReader = (question: string, secret: boolean) => Promise<string | undefined>;

/** What authentication needs. */
export interface AuthOptions {
  host: ResolvedHost;
  log: LogFn;
  env: NodeJS.ProcessEnv;
  /** Passphrases (askpass or TTY); undefined: never ask. */
  readSecret: SecretReader | undefined;
  /** Password and keyboard-interactive answers (TTY only); undefined: never ask. */
  askUser: QuestionReader | undefined;
}

type Step = { kind: 'agent'; socket: string } | { kind: 'file'; path: string } | { kind: 'kbd' } | { kind: 'password' };

/** An agent that remembers the keys it offered and, with IdentitiesOnly, offers only the configured ones. */
class RecordingAgent extends ssh2.OpenSSHAgent {
  readonly offered: Buffer[] = [];
  readonly #allow: ((blob: Buffer) => boolean) | undefined;
  constructor(socket: string, allow?: (blob: Buffer) => boolean) {
    super(socket);
    this.#allow = allow;
  }
  override getIdentities(cb: IdentityCallback<ParsedKey>): void {
    super.getIdentities((err, keys) => {
      if (err || !keys) return cb(err, keys);
      const blob = (k: ParsedKey | PublicKeyEntry) => ('getPublicSSH' in k ? k.getPublicSSH() : undefined);
      const chosen = keys.filter((k) => {
        const b = blob(k);
        return b !== undefined && (this.#allow === undefined || this.#allow(b));
      });
      for (const k of chosen) {
        const b = blob(k);
        if (b) this.offered.push(b);
      }
      cb(undefined, chosen);
    });
  }
}

/**
 * Builds ssh2's authHandler with OpenSSH's order: ssh-agent, identity files (passphrase asked when needed),
 * keyboard-interactive, password. `failure()` turns what happened into one AuthError line.
 */
export class Authenticator {
  readonly #o: AuthOptions;
  readonly #steps: Step[] = [];
  readonly #tried: string[] = [];
  readonly #skipped: string[] = [];
  #allowed: AuthenticationType[] | undefined;
  #agent: RecordingAgent | undefined;
  #passwordsLeft: number;
  #kbdLeft: number;

  constructor(options: AuthOptions) {
    this.#o = options;
    const h = options.host;
    const socket = h.identityAgent ?? options.env.SSH_AUTH_SOCK;
    if (socket && socket !== 'none' && existsSync(socket)) this.#steps.push({ kind: 'agent', socket });
    for (const path of h.identityFiles) this.#steps.push({ kind: 'file', path });
    this.#passwordsLeft = h.numberOfPasswordPrompts ?? 3;
    this.#kbdLeft = this.#passwordsLeft;
    this.#steps.push({ kind: 'kbd' }, { kind: 'password' });
  }

  /** The steps tried so far, in order (the last one is the one that worked once logged in). */
  get tried(): readonly string[] {
    return this.#tried;
  }

  /** The ssh2 authHandler. */
  readonly handler: AuthHandlerMiddleware = (methodsLeft, _partial, next) => {
    if (methodsLeft) this.#allowed = methodsLeft;
    else {
      // first call: ask with "none" to learn the allowed methods, as OpenSSH does
      next({ type: 'none', username: this.#o.host.user });
      return;
    }
    this.#next().then(
      (m) => next(m === false ? (false as unknown as AnyAuthMethod) : m),
      (err: unknown) => {
        this.#o.log('debug', `${hostLabel(this.#o.host)}: auth step failed: ${(err as Error).message}`);
        next(false as unknown as AnyAuthMethod);
      },
    );
  };

  #allows(m: AuthenticationType): boolean {
    return this.#allowed === undefined || this.#allowed.includes(m);
  }

  async #next(): Promise<AnyAuthMethod | false> {
    const user = this.#o.host.user;
    const label = hostLabel(this.#o.host);
    for (;;) {
      const step = this.#steps[0];
      if (!step) return false;
      switch (step.kind) {
        case 'agent': {
          this.#steps.shift();
          if (!this.#allows('publickey')) continue;
          this.#agent = new RecordingAgent(
            step.socket,
            this.#o.host.identitiesOnly ? this.#identityFilter() : undefined,
          );
          this.#tried.push('ssh-agent');
          this.#o.log('debug', `${label}: trying keys from ssh-agent`);
          return { type: 'agent', username: user, agent: this.#agent };
        }
        case 'file': {
          this.#steps.shift();
          if (!this.#allows('publickey')) continue;
          const key = await this.#loadKey(step.path);
          if (!key) continue;
          this.#tried.push(`key ${step.path}`);
          this.#o.log('debug', `${label}: trying key ${step.path}`);
          return { type: 'publickey', username: user, key };
        }
        case 'kbd': {
          if (!this.#allows('keyboard-interactive') || !this.#o.askUser || this.#kbdLeft <= 0) {
            this.#steps.shift();
            continue;
          }
          this.#kbdLeft--;
          if (!this.#tried.includes('keyboard-interactive')) this.#tried.push('keyboard-interactive');
          const ask = this.#o.askUser;
          return {
            type: 'keyboard-interactive',
            username: user,
            prompt: (name, instructions, _lang, prompts, finish) => this.#kbd(ask, name, instructions, prompts, finish),
          };
        }
        case 'password': {
          if (!this.#allows('password') || !this.#o.askUser || this.#passwordsLeft <= 0) {
            this.#steps.shift();
            continue;
          }
          this.#passwordsLeft--;
          const password = await this.#o.askUser(`${user}@${this.#o.host.hostname}'s password: `, true);
          if (password === undefined) {
            this.#steps.shift();
            continue;
          }
          if (!this.#tried.includes('password')) this.#tried.push('password');
          return { type: 'password', username: user, password };
        }
      }
    }
  }

  #kbd(
    ask: QuestionReader,
    name: string,
    instructions: string,
    prompts: Prompt[],
    finish: KeyboardInteractiveCallback,
  ): void {
    (async () => {
      const answers: string[] = [];
      const header = [name, instructions].filter((s) => s.trim() !== '').join('\n');
      for (const [i, p] of prompts.entries()) {
        const q = i === 0 && header ? `${header}\n${p.prompt}` : p.prompt;
        const a = await ask(q, p.echo !== true);
        if (a === undefined) {
          this.#kbdLeft = 0;
          return answers.concat(prompts.slice(answers.length).map(() => ''));
        }
        answers.push(a);
      }
      return answers;
    })().then(finish, () => finish([]));
  }

  #identityFilter(): (blob: Buffer) => boolean {
    const blobs = this.#o.host.identityFiles
      .map((p) => readIdentityFile(p))
      .map((f) => {
        if (f.state === 'ready' || f.state === 'encrypted') return f.publicBlob;
        return publicBlobOf(f.path, Buffer.alloc(0)); // only `<file>.pub` present: the agent holds the key
      })
      .filter((b): b is Buffer => b !== undefined);
    return (blob) => blobs.some((b) => b.equals(blob));
  }

  async #loadKey(path: string): Promise<ParsedKey | undefined> {
    const f: IdentityFile = readIdentityFile(path);
    if (f.state === 'missing') return undefined;
    if (f.state === 'unusable') {
      this.#skipped.push(`${path} (${f.reason})`);
      this.#o.log('warn', `${hostLabel(this.#o.host)}: skipping identity ${path}: ${f.reason}`);
      return undefined;
    }
    if (f.state === 'ready') {
      if (this.#agent?.offered.some((b) => b.equals(f.publicBlob))) return undefined; // the agent already offered it
      return f.key;
    }
    const pub = f.publicBlob;
    if (pub && this.#agent?.offered.some((b) => b.equals(pub))) return undefined;
    if (!this.#o.readSecret) {
      this.#skipped.push(`${path} (encrypted; no terminal or SSH_ASKPASS to ask its passphrase)`);
      return undefined;
    }
    const tries = Math.max(1, this.#o.host.numberOfPasswordPrompts ?? 3);
    for (let i = 0; i < tries; i++) {
      const pass = await this.#o.readSecret(`Enter passphrase for key '${path}': `);
      if (pass === undefined || pass === '') break;
      const key = decryptIdentity(f.data, pass);
      if (key) return key;
      this.#o.log('warn', `${hostLabel(this.#o.host)}: wrong passphrase for ${path}`);
    }
    this.#skipped.push(`${path} (encrypted; no passphrase)`);
    return undefined;
  }

  /** One-line AuthError describing what was tried and what to try next. */
  failure(serverMessage?: string): AuthError {
    const h = this.#o.host;
    const label = hostLabel(h);
    const parts: string[] = [];
    if (this.#allowed) parts.push(`server accepts: ${this.#allowed.join(',')}`);
    parts.push(`tried: ${this.#tried.length ? this.#tried.join(', ') : 'nothing usable'}`);
    if (this.#skipped.length) parts.push(`skipped: ${this.#skipped.join(', ')}`);
    if (serverMessage) parts.push(`server said: ${serverMessage}`);
    const hints: string[] = ['load your key with ssh-add or pass -i <key>'];
    const interactive = this.#allowed?.some((m) => m === 'password' || m === 'keyboard-interactive') ?? false;
    if (interactive && !this.#o.askUser)
      hints.push(h.batchMode ? 'drop BatchMode to type a password' : 'run on a terminal to type a password');
    return new AuthError(label, `${label}: authentication failed (${parts.join('; ')}); ${hints.join(', or ')}`, [
      ...this.#tried,
    ]);
  }
}
