import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AuthError,
  ConnectError,
  checkHostKey,
  connect,
  fingerprint,
  HostKeyError,
  keyTypeLabel,
  keyTypeOfBlob,
  knownHostName,
  type ResolvedHost,
  readKnownHostsFile,
  type SshConnection,
} from '@port-linker/ssh';
import { listAgentIdentities, readIdentityFile } from '@port-linker/ssh/identities';
import { tildePath } from './ssh-config-step.ts';
import { fail, pass, type StepOutcome, skip } from './step-result.ts';
import { errorText } from './step-runner.ts';

/** What one login attempt showed. */
export interface LoginReport {
  connection?: SshConnection;
  error?: Error;
  hostKey?: Buffer;
  methods?: readonly string[];
  authenticatedWith?: string;
}

/**
 * Connects and logs in as the foreground command does, watching the host key and the auth methods. known_hosts is
 * never written: with accept-new/no a new key lands in a throwaway file (the report says it would be added).
 */
export async function login(h: ResolvedHost, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<LoginReport> {
  const report: LoginReport = {};
  const scratch = mkdtempSync(join(tmpdir(), 'pl-doctor-kh-'));
  const host: ResolvedHost = { ...h, userKnownHostsFiles: [join(scratch, 'known_hosts'), ...h.userKnownHostsFiles] };
  try {
    report.connection = await connect(host, {
      env,
      ...(signal ? { signal } : {}),
      observe: {
        hostKey: (key) => {
          report.hostKey = key;
        },
        authMethods: (m) => {
          report.methods ??= m;
        },
        authenticated: (how) => {
          report.authenticatedWith = how;
        },
      },
    });
  } catch (err) {
    report.error = err as Error;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return report;
}

/** The host key step: the server's key, its fingerprint as OpenSSH prints it, and what known_hosts says. */
export function hostKeyOutcome(h: ResolvedHost, r: LoginReport): StepOutcome {
  if (!r.hostKey) {
    return skip(r.error ? `no key exchange (${errorText(r.error)})` : 'no key exchange');
  }
  const type = keyTypeLabel(keyTypeOfBlob(r.hostKey));
  const fp = fingerprint(r.hostKey);
  const name = knownHostName(h.hostname, h.port);
  const files = [...h.userKnownHostsFiles, ...(h.globalKnownHostsFiles ?? [])];
  const status = checkHostKey(
    files.flatMap((f) => readKnownHostsFile(f)),
    name,
    r.hostKey,
  );
  const where = (e: { file: string; line: number }) => `${tildePath(e.file)}:${e.line}`;
  switch (status.status) {
    case 'known':
      return pass(`${type} ${fp} matches ${where(status.entry)}`);
    case 'revoked':
      return fail(
        `${type} ${fp} is marked @revoked in ${where(status.entry)}`,
        "do not connect: ask the host's admin for its current key",
      );
    case 'changed':
      return fail(
        `HOST KEY CHANGED: the server sends ${type} ${fp}, ${where(status.entry)} holds another ${type} key for ${name}`,
        `if the host was reinstalled, check the new fingerprint with its admin, then: ssh-keygen -R '${name}' -f ${status.entry.file}; otherwise someone may be intercepting the connection`,
      );
    case 'unknown': {
      const searched = files.map((f) => tildePath(f)).join(', ') || 'no known_hosts file';
      if (h.strictHostKeyChecking === 'accept-new' || h.strictHostKeyChecking === 'no')
        return pass(
          `${type} ${fp} is not in known_hosts yet; port-linker adds it on the first connection (StrictHostKeyChecking=${h.strictHostKeyChecking})`,
        );
      return fail(
        `${type} ${fp} for ${name} is not in known_hosts (${searched}; StrictHostKeyChecking=${h.strictHostKeyChecking})`,
        "check the fingerprint with the host's admin (ssh-keyscan shows it), then connect once with -o StrictHostKeyChecking=accept-new",
      );
    }
  }
}

/** The keys available here: identity files (with their state) and the agent's keys. */
export async function identitiesHere(h: ResolvedHost, env: NodeJS.ProcessEnv): Promise<string> {
  const files = h.identityFiles.map((p) => {
    const f = readIdentityFile(p);
    const shown = tildePath(p);
    if (f.state === 'missing') return `${shown} (missing)`;
    if (f.state === 'unusable') return `${shown} (unusable: ${f.reason})`;
    const blob = f.state === 'ready' ? f.publicBlob : f.publicBlob;
    const fp = blob ? ` ${keyTypeLabel(keyTypeOfBlob(blob))} ${fingerprint(blob)}` : '';
    return `${shown}${fp}${f.state === 'encrypted' ? ' (encrypted)' : ''}`;
  });
  const socket = h.identityAgent ?? env.SSH_AUTH_SOCK;
  let agent: string;
  if (!socket || socket === 'none') agent = 'no ssh-agent (SSH_AUTH_SOCK unset)';
  else {
    try {
      const keys = await listAgentIdentities(socket);
      agent = `ssh-agent: ${keys.length ? keys.map((k) => `${keyTypeLabel(k.type)} ${k.fingerprint}`).join(', ') : 'no keys'}`;
    } catch (err) {
      agent = `ssh-agent at ${socket} does not answer (${errorText(err)})`;
    }
  }
  return `${agent}; key files: ${files.length ? files.join(', ') : 'none'}`;
}

/** The auth step: methods the server offers, what is available here, and which one worked. */
export async function authOutcome(h: ResolvedHost, r: LoginReport, env: NodeJS.ProcessEnv): Promise<StepOutcome> {
  if (r.error instanceof HostKeyError) return skip('the host key was not accepted: no login attempted');
  if (r.error && !(r.error instanceof AuthError) && !r.methods) return skip(`no login (${errorText(r.error)})`);
  const offered = `server offers ${r.methods?.join(',') ?? '(unknown)'}`;
  const here = await identitiesHere(h, env);
  if (r.connection) return pass(`${offered}; logged in with ${r.authenticatedWith ?? '?'}; here: ${here}`);
  const interactive = r.methods?.some((m) => m === 'password' || m === 'keyboard-interactive') ?? false;
  const onlyInteractive = interactive && !r.methods?.includes('publickey');
  return fail(
    `${offered}; here: ${here}; ${r.error ? errorText(r.error).replace(/^[^:]*:\d+: /, '') : 'login failed'}`,
    onlyInteractive
      ? 'the server takes passwords only: run port-linker on a terminal to type one, or enable PubkeyAuthentication on the server'
      : 'add your public key to ~/.ssh/authorized_keys on the server (ssh-copy-id), then load it with ssh-add or pass -i <key>',
  );
}

/** Whether a login failure is a connection problem (ConnectError) rather than host key or auth. */
export function isConnectFailure(r: LoginReport): boolean {
  return r.error instanceof ConnectError;
}
