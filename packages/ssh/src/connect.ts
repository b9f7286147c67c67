import { spawn } from 'node:child_process';
import { connect as netConnect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { ConnectConfig } from 'ssh2';
import type { Authenticator, QuestionReader, SecretReader } from './auth.ts';
import { poolCipherPackets } from './cipher-packets.ts';
import type { ResolvedHost } from './config-resolve.ts';
import { SshConnection } from './connection.ts';
import { AuthError, ChannelError, ConnectError, HostKeyError, hostLabel } from './errors.ts';
import { HostKeyVerifier } from './host-key-verify.ts';
import { keepaliveOnTraffic } from './keepalive-traffic.ts';
import { askpassProgram, type Prompter, runAskpass } from './prompt.ts';
import { type LogFn, silentLog } from './ssh-log.ts';
import { nativeCryptoAvailable, orderHostKeyAlgorithms } from './ssh2-algorithms.ts';
import { coalesceWrites } from './write-coalescing.ts';

/** How to connect: logging, prompting (undefined = no TTY: never prompt), cancellation. */
export interface ConnectOptions {
  log?: LogFn;
  prompt?: Prompter;
  signal?: AbortSignal;
  /** Environment for SSH_AUTH_SOCK and SSH_ASKPASS*; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Watches the handshake of the target host (not its jump hosts): `port-linker doctor` reports each part. */
  observe?: ConnectObserver;
}

/** What `connect` saw on the way (every callback optional). */
export interface ConnectObserver {
  /** The server's host key blob, before it is checked against known_hosts. */
  hostKey?(key: Buffer): void;
  /** The authentication methods the server accepts (its answer to the "none" request). */
  authMethods?(methods: readonly string[]): void;
  /** Login succeeded with this step (`ssh-agent`, `key <path>`, `password`, `keyboard-interactive`). */
  authenticated?(how: string): void;
}

let nativeLogged = false;

/** Connects to a resolved host (through its jump hosts), verifies its key and authenticates. */
export async function connect(host: ResolvedHost, options: ConnectOptions = {}): Promise<SshConnection> {
  const log = options.log ?? silentLog;
  if (!nativeLogged) {
    nativeLogged = true;
    if (nativeCryptoAvailable) log('debug', 'ssh2 native crypto: yes');
    else log('warn', 'ssh2 native crypto: no (its binding did not load; transfers will be much slower)');
  }
  const jumps: SshConnection[] = [];
  try {
    let sock: Duplex | undefined;
    let prev: SshConnection | undefined;
    const { observe: _target, ...hopOptions } = options; // the observer watches the target only
    for (const hop of host.proxyJump) {
      const conn = prev
        ? await establish(hop, await tunnel(prev, hop), hopOptions, [])
        : await connect(hop, hopOptions);
      jumps.push(conn);
      prev = conn;
    }
    if (prev) sock = await tunnel(prev, host);
    return await establish(host, sock, options, jumps);
  } catch (err) {
    for (const j of jumps.reverse()) j.close();
    throw err;
  }
}

/** A direct-tcpip channel through `via` to the next host; failures are ConnectErrors naming both hosts. */
async function tunnel(via: SshConnection, to: ResolvedHost): Promise<Duplex> {
  try {
    return await via.forwardOut(to.hostname, to.port);
  } catch (err) {
    const label = hostLabel(to);
    const why = err instanceof ChannelError ? (err.reason ?? err.message) : (err as Error).message;
    throw new ConnectError(
      label,
      `${label}: jump host ${hostLabel(via.host)} could not reach it (${why}); check HostName/Port and that the jump host may forward (AllowTcpForwarding)`,
      undefined,
      { cause: err },
    );
  }
}

/** A pausable deadline: the connect timeout must not run while a human answers a prompt. */
class Deadline {
  readonly #ms: number;
  readonly #onExpire: () => void;
  #timer: NodeJS.Timeout | undefined;
  #paused = 0;
  constructor(ms: number, onExpire: () => void) {
    this.#ms = ms;
    this.#onExpire = onExpire;
    this.restart();
  }
  restart(): void {
    clearTimeout(this.#timer);
    this.#timer = this.#paused > 0 ? undefined : setTimeout(this.#onExpire, this.#ms);
  }
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
  async paused<T>(fn: () => Promise<T>): Promise<T> {
    this.#paused++;
    this.stop();
    try {
      return await fn();
    } finally {
      this.#paused--;
      if (this.#paused === 0) this.restart();
    }
  }
}

const CONNECT_HINTS: Record<string, string> = {
  ENOTFOUND: 'cannot resolve the host name; check the name or HostName in your ssh config',
  EAI_AGAIN: 'cannot resolve the host name (DNS not answering); check your network',
  ECONNREFUSED: 'connection refused; is sshd running on that port?',
  EHOSTUNREACH: 'host unreachable; check the address, your network or VPN',
  ENETUNREACH: 'network unreachable; check your network or VPN',
  ETIMEDOUT: 'timed out; check the host is up and reachable',
  ECONNRESET: 'connection reset during the SSH handshake; is it an SSH server?',
};

function tcpConnect(host: ResolvedHost, signal: AbortSignal): Promise<Socket> {
  const label = hostLabel(host);
  return new Promise((resolve, reject) => {
    const sock = netConnect({ host: host.hostname, port: host.port });
    sock.setNoDelay(true); // without it each forwarded connection's first round trip waits ~44 ms on Nagle
    const onAbort = () => sock.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    sock.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onAbort);
      const code = err.code ?? 'EIO';
      reject(
        new ConnectError(label, `${label}: ${CONNECT_HINTS[code] ?? `cannot connect (${code})`}`, code, { cause: err }),
      );
    });
  });
}

function proxyCommandSocket(host: ResolvedHost, log: LogFn): Duplex {
  const command = host.proxyCommand ?? '';
  log('debug', `${hostLabel(host)}: ProxyCommand ${command}`);
  const child = spawn('/bin/sh', ['-c', `exec ${command}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  const duplex = Duplex.from({ readable: child.stdout, writable: child.stdin });
  duplex.on('close', () => child.kill());
  child.on('error', (err) => duplex.destroy(err));
  return duplex;
}

async function establish(
  host: ResolvedHost,
  carrier: Duplex | undefined,
  options: ConnectOptions,
  jumps: SshConnection[],
): Promise<SshConnection> {
  const log = options.log ?? silentLog;
  const env = options.env ?? process.env;
  const label = hostLabel(host);
  const timeoutS = host.connectTimeout;
  const abort = new AbortController();
  let fail: (err: Error) => void = () => {};
  const deadline = new Deadline(timeoutS * 1000, () =>
    fail(
      new ConnectError(
        label,
        `${label}: timed out after ${timeoutS} s (ConnectTimeout); check the host is up and reachable`,
        'ETIMEDOUT',
      ),
    ),
  );
  const onAbort = () => fail(new ConnectError(label, `${label}: connection cancelled`, 'ABORT_ERR'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const cleanup = () => {
    deadline.stop();
    options.signal?.removeEventListener('abort', onAbort);
  };

  const failed = new Promise<never>((_, reject) => {
    fail = (err) => {
      abort.abort();
      reject(err);
    };
  });
  failed.catch(() => {});
  if (options.signal?.aborted) onAbort();

  let sock: Duplex;
  let ssh2Side: typeof import('./ssh2-client.ts');
  try {
    const connecting = carrier ?? (host.proxyCommand ? proxyCommandSocket(host, log) : tcpConnect(host, abort.signal));
    // ssh2 loads while the SYN and the server's banner are on their way (ssh2-client.ts); both are awaited together
    // so that a refused connection is handled at once, not left unhandled while the import runs
    [ssh2Side, sock] = await Promise.all([import('./ssh2-client.ts'), Promise.race([connecting, failed])]);
  } catch (err) {
    cleanup();
    carrier?.destroy();
    throw err;
  }
  coalesceWrites(sock);

  const batch = host.batchMode;
  const prompt = batch ? undefined : options.prompt;
  const askpass = batch ? undefined : askpassProgram(env, prompt !== undefined);
  const readSecret: SecretReader | undefined = askpass
    ? (q) => deadline.paused(() => runAskpass(askpass, q, env))
    : prompt
      ? (q) => deadline.paused(() => prompt.ask(q, { secret: true }).catch(() => undefined))
      : undefined;
  const askUser: QuestionReader | undefined = prompt
    ? (q, secret) => deadline.paused(() => prompt.ask(q, { secret }).catch(() => undefined))
    : askpass
      ? (q) => deadline.paused(() => runAskpass(askpass, q, env))
      : undefined;

  const verifier = new HostKeyVerifier({ host, prompt, log, paused: (fn) => deadline.paused(fn) });
  const { Authenticator, ssh2 } = ssh2Side;
  const auth = new Authenticator({ host, log, env, readSecret, askUser });
  const client = new ssh2.Client();
  let pending: Error | undefined;
  let ready = false;
  let authStarted = false;

  const config: ConnectConfig = {
    sock: sock as unknown as ConnectConfig['sock'],
    host: host.hostname,
    port: host.port,
    username: host.user,
    readyTimeout: 0,
    keepaliveInterval: host.serverAliveInterval * 1000,
    keepaliveCountMax: host.serverAliveCountMax,
    algorithms: {
      serverHostKey: orderHostKeyAlgorithms(verifier.knownTypes()) as NonNullable<
        ConnectConfig['algorithms']
      >['serverHostKey'],
      ...(host.ciphers ? { cipher: host.ciphers as NonNullable<ConnectConfig['algorithms']>['cipher'] } : {}),
    },
    hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
      options.observe?.hostKey?.(key);
      verifier.verify(key).then(
        () => verify(true),
        (err: Error) => {
          pending = err;
          verify(false);
        },
      );
    },
    authHandler: (methods, partial, next) => {
      if (!authStarted) {
        authStarted = true;
        deadline.restart(); // a fresh budget for login, once the handshake is done
      }
      if (methods) options.observe?.authMethods?.(methods);
      auth.handler(methods, partial, next);
    },
  };

  const result = new Promise<SshConnection>((resolve, reject) => {
    client.on('banner', (msg: string) => log('info', `${label}: ${msg.trim()}`));
    client.on('error', (err: Error & { level?: string; code?: string | number }) => {
      if (ready) return;
      if (err.level === 'agent' || /^Error while signing/.test(err.message)) {
        log('debug', `${label}: ${err.level ?? 'auth'}: ${err.message}`);
        return;
      }
      reject(mapSetupError(err, pending, auth, label, authStarted, timeoutS));
    });
    client.on('close', () => {
      if (!ready)
        reject(
          pending ??
            new ConnectError(
              label,
              `${label}: the server closed the connection before login completed; check sshd's logs`,
              'ECONNRESET',
            ),
        );
    });
    client.on('ready', () => {
      ready = true;
      options.observe?.authenticated?.(auth.tried.at(-1) ?? 'none');
      poolCipherPackets(client);
      if (!keepaliveOnTraffic(client, sock)) log('debug', 'ssh2 has no _resetKA: keepalives count their replies only');
      resolve(new SshConnection(host, client, jumps, log, (sock as Partial<Socket>).remoteAddress, sock));
    });
  });

  abort.signal.addEventListener('abort', () => {
    client.destroy();
    sock.destroy();
  });
  client.connect(config);
  try {
    const conn = await Promise.race([result, failed]);
    log('debug', `${label}: logged in`);
    return conn;
  } catch (err) {
    client.destroy();
    sock.destroy();
    throw err;
  } finally {
    cleanup();
  }
}

function mapSetupError(
  err: Error & { level?: string; code?: string | number },
  pending: Error | undefined,
  auth: Authenticator,
  label: string,
  authStarted: boolean,
  timeoutS: number,
): Error {
  if (pending instanceof HostKeyError || pending instanceof AuthError) return pending;
  if (err.level === 'client-authentication') return auth.failure();
  if (err.level === 'client-timeout') {
    return new ConnectError(label, `${label}: timed out after ${timeoutS} s (ConnectTimeout)`, 'ETIMEDOUT', {
      cause: err,
    });
  }
  if (/authentication/i.test(err.message) && authStarted) return auth.failure(err.message);
  if (/lost before handshake/i.test(err.message)) {
    return new ConnectError(
      label,
      `${label}: the connection closed before the SSH handshake; is an SSH server listening there?`,
      'ECONNRESET',
      { cause: err },
    );
  }
  if (err.level === 'handshake' || /handshake|no matching/i.test(err.message)) {
    return new ConnectError(
      label,
      `${label}: SSH handshake failed: ${err.message}; check Ciphers and the server's algorithms`,
      'HANDSHAKE',
      { cause: err },
    );
  }
  const code = typeof err.code === 'string' ? err.code : undefined;
  const hint = code ? CONNECT_HINTS[code] : undefined;
  return new ConnectError(label, `${label}: ${hint ?? `connection failed: ${err.message}`}`, code, { cause: err });
}
