// Security faults: each attack is made for real against the real processes and must be refused, and the user's
// session must be unharmed afterwards (its forward still echoes, through the same agent and the same connection).
// Another local user is `nobody` (setpriv) running attacker.ts on this machine or inside the harness host's
// namespace (a user of the remote); a web page is a request with its headers; the man in the middle is the harness
// sshd restarted with another host key; the tampered agent is the cached file edited on the remote. Each run's note
// says what refused the attacks (or which one got through).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { ControlClient, type HostView } from '@port-linker/client';
import { connectDirect } from '@port-linker/datapath';
import { agentArgs, type DeployResult, deployAgent, StdioAgentLink } from '@port-linker/deploy';
import { encodeMessage, type LogEvent, type Message, type TransportEntry } from '@port-linker/proto';
import { negotiateTransport, type QuicConnector } from '@port-linker/transport';
import { RemoteHost, run, type Service } from '../../test/harness/index.ts';
import { CliProcess } from '../../test/support/cli-process.ts';
import { runCli } from '../../test/support/cli-run.ts';
import { Ssh2Session } from '../../test/support/ssh2-session.ts';
import { onCleanup } from '../bench/cleanup.ts';
import type { Attack, Outcome } from './attacker.ts';
import type { FaultContext, FaultRow, RunResult } from './fault-types.ts';
import { echoes, until } from './probes.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const ATTACKER = join(import.meta.dirname, 'attacker.ts');
const AGENT_SCRIPT = join(ROOT, 'packages', 'agent', 'dist', 'agent.cjs');
const AGENT_QUIC = join(ROOT, 'packages', 'agent', 'dist', 'agent-quic.cjs');
const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const firstLine = (err: unknown) => ((err as Error)?.message ?? String(err)).split('\n')[0] ?? 'failed';

let kit: Promise<{ node: string; cwd: string; script: string }> | undefined;

/**
 * The checkout as nobody can reach it: it may sit under a directory only root may enter (a fresh clone in a mktemp
 * dir, /root), so it is bind-mounted on a temp dir others may enter (its own files are readable by all, as git and
 * npm wrote them), unmounted at the end. Node too, when it lives inside the checkout (scripts/node-runtime.sh).
 */
function attackerKit(): Promise<{ node: string; cwd: string; script: string }> {
  kit ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-faults-attacker-'));
    chmodSync(dir, 0o755);
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    await run(['mount', '--bind', ROOT, repo]);
    onCleanup(async () => {
      await run(['umount', '-l', repo], { allowFail: true });
      rmSync(dir, { recursive: true, force: true });
    });
    const inside = (p: string) => (p.startsWith(`${ROOT}/`) ? join(repo, p.slice(ROOT.length + 1)) : p);
    return { node: inside(process.execPath), cwd: repo, script: inside(ATTACKER) };
  })();
  return kit;
}

/** Runs attacker.ts as nobody, on this machine or (with `host`) inside that remote's namespace; outcomes in order. */
async function asNobody(attacks: Attack[], host?: RemoteHost, timeoutMs = 40_000): Promise<Outcome[]> {
  const { node, cwd, script } = await attackerKit();
  const argv = [...(host ? ['ip', 'netns', 'exec', host.ns] : []), ...NOBODY, node, '--import', 'tsx', script];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('['))
        return reject(new Error(`the attacker exited ${code}: ${stderr.trim().split('\n').slice(-2).join(' ')}`));
      const outcomes = JSON.parse(last) as Outcome[];
      // FAULTS_DEBUG=1: every attack and what it met
      if (process.env.FAULTS_DEBUG)
        for (const [i, o] of outcomes.entries())
          process.stderr.write(`  ${JSON.stringify(attacks[i]).slice(0, 160)} -> ${JSON.stringify(o)}\n`);
      resolve(outcomes);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(attacks));
  });
}

/** Collects what each attack met: a refusal that held (for the note) or one that did not (fails the run). */
class Verdict {
  readonly #failures: string[] = [];
  readonly #refused: string[] = [];

  expect(held: boolean, attack: string, observed: string): void {
    if (held) this.#refused.push(observed);
    else this.#failures.push(`${attack}: ${observed}`);
  }

  get failed(): boolean {
    return this.#failures.length > 0;
  }

  result(summary: string, extra: Partial<RunResult> = {}): RunResult {
    if (this.#failures.length > 0)
      return { ok: false, ...extra, note: `NOT REFUSED ${this.#failures.slice(0, 3).join('; ')}` };
    return { ok: true, ...extra, note: summary };
  }
}

/** `result` of one run, or the run's failure as a note. */
async function guarded(f: () => Promise<RunResult>): Promise<RunResult> {
  try {
    return await f();
  } catch (err) {
    return { ok: false, note: firstLine(err) };
  }
}

/** A QUIC attempt the agent refused: no handshake, or the agent closed the connection, never a byte on a stream. */
const quicRefused = (o: Outcome | undefined) =>
  o !== undefined && !o.receivedBytes && (o.connected === false || /Peer closed/.test(o.error ?? ''));

/** What an outcome shows, in a few words. */
function seen(o: Outcome | undefined): string {
  if (!o) return 'no outcome';
  if (o.status !== undefined) {
    let code = '';
    try {
      code = ` ${(JSON.parse(o.body ?? '') as { error?: { code?: string } }).error?.code ?? ''}`;
    } catch {}
    return `${o.status}${code}`.trim();
  }
  if (o.error) return o.error;
  if (o.closedAfterMs !== undefined) return `closed after ${o.closedAfterMs} ms, ${o.receivedBytes ?? 0} bytes back`;
  if (o.connected) return `connected, ${o.receivedBytes ?? 0} bytes back`;
  return JSON.stringify(o);
}

/** One HTTP request to 127.0.0.1:port; `headers.host` defaults to the listener's own address. */
function httpCall(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; code: string; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers: { host: `127.0.0.1:${port}`, ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => {
          let code = '';
          try {
            code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? '';
          } catch {}
          resolve({ status: res.statusCode ?? 0, code, headers: res.headers, body: text });
        });
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${path} within 10 s`)));
    req.end(body);
  });
}

/** Sends `text` to 127.0.0.1:port and resolves with the first line of the answer ('' when closed without one). */
function rawFirstLine(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port });
    let got = '';
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(got.split('\r\n')[0] ?? '');
    };
    const timer = setTimeout(done, 3000);
    s.setEncoding('utf8').on('data', (d: string) => {
      got += d;
      if (got.includes('\r\n')) done();
    });
    s.on('error', done).on('close', done);
    s.write(text);
  });
}

/** A free TCP port on 127.0.0.1 (bound and released: the daemon takes it right after). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Agent processes running in the host's namespace (the cached file, named by its sha256, with its arguments). */
async function agentPids(host: RemoteHost): Promise<number[]> {
  const r = await run(['ip', 'netns', 'pids', host.ns], { allowFail: true });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return /[0-9a-f]{64}/.test(cmd) && cmd.includes('--silence-timeout-ms');
      } catch {
        return false;
      }
    });
}

/** The listening sockets of `pid` inside the host's namespace. */
async function listenersOf(
  host: RemoteHost,
  pid: number,
): Promise<Array<{ proto: 'tcp' | 'udp'; address: string; port: number }>> {
  const out = (await host.exec(['ss', '-Htulnp'])).stdout;
  return out
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => {
      const [proto, , , , local] = l.trim().split(/\s+/);
      const at = (local ?? '').lastIndexOf(':');
      return {
        proto: proto === 'udp' ? ('udp' as const) : ('tcp' as const),
        address: (local ?? '').slice(0, at).replace(/^\[|\]$/g, ''),
        port: Number((local ?? '').slice(at + 1)),
      };
    });
}

/** Connection options that reach the harness host (key, known_hosts, policy), as the CLI takes them. */
function sshArgs(host: RemoteHost, policy = 'yes'): string[] {
  return [
    '-i',
    host.clientKeyPath,
    '-o',
    `UserKnownHostsFile=${host.knownHostsPath}`,
    '-o',
    `StrictHostKeyChecking=${policy}`,
  ];
}

/**
 * The user's session: a harness host (private agent cache) with an echo service, a daemon with its own state dir
 * (and the loopback API), and the host added with `connect <args>` mirroring the echo's port.
 */
interface Rig {
  host: RemoteHost;
  svc: Service;
  /** The remote's XDG_CACHE_HOME (the agent cache lives in port-linker/agents). */
  xdg: string;
  home: string;
  state: string;
  env: NodeJS.ProcessEnv;
  client: ControlClient;
  connectArgs: string[];
  /** The host's id in the daemon (its target). */
  id: string;
  /** The echo's local port. */
  local: number;
  agentPid: number;
  reconnects: number;
  apiPort: number;
  token: string;
  close(): Promise<void>;
}

/** A token left readable by others before the daemon started (a backup restored 0644): never the one in use. */
const STALE_TOKEN = 'a-token-that-sat-in-a-world-readable-api-token-file';

async function startRig(
  o: { connect?: string[]; sshd?: string[]; policy?: string; staleToken?: boolean } = {},
): Promise<Rig> {
  const xdg = mkdtempSync(join(tmpdir(), 'pl-sec-cache-'));
  const home = mkdtempSync(join(tmpdir(), 'pl-sec-home-'));
  const state = join(home, 'state');
  const env = {
    PORT_LINKER_HOME: state,
    PORT_LINKER_LOG: undefined,
    XDG_RUNTIME_DIR: undefined,
    DISPLAY: undefined,
    WAYLAND_DISPLAY: undefined,
  };
  const closers: Array<() => Promise<void> | void> = [
    () => rmSync(xdg, { recursive: true, force: true }),
    () => rmSync(home, { recursive: true, force: true }),
  ];
  const close = async () => {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => {});
  };
  try {
    const host = await RemoteHost.start({
      quietShell: true,
      sshdConfig: [`SetEnv XDG_CACHE_HOME=${xdg}`, ...(o.sshd ?? [])],
    });
    closers.push(() => host.close());
    const svc = await host.serve('tcp-echo', 0, '127.0.0.1');
    closers.push(() => svc.stop());
    if (o.staleToken) {
      mkdirSync(state, { mode: 0o700 });
      writeFileSync(join(state, 'api-token'), `${STALE_TOKEN}\n`);
      chmodSync(join(state, 'api-token'), 0o644);
    }
    const apiPort = await freePort();
    const start = await runCli(['daemon', 'start', '--api', `127.0.0.1:${apiPort}`], env, 30_000);
    if (start.code !== 0) throw new Error(`daemon start: ${start.stderr.trim()}`);
    closers.push(async () => {
      await runCli(['daemon', 'stop'], env, 20_000);
    });
    const status = JSON.parse((await runCli(['daemon', 'status', '--json'], env)).stdout) as { socket: string };
    const client = new ControlClient(status.socket);
    const connectArgs = [...sshArgs(host, o.policy), ...(o.connect ?? []), '-p', String(svc.port), host.target];
    const added = await runCli(['connect', ...connectArgs], env, 60_000);
    if (added.code !== 0) throw new Error(`connect: ${added.stderr.trim().split('\n').pop()}`);
    const id = host.target;
    let local = 0;
    await until(
      async () => {
        const h = (await client.call<{ hosts: HostView[] }>('GET', '/v1/hosts')).hosts.find((x) => x.id === id);
        local = h?.forwards.find((f) => f.spec.protocol === 'tcp' && f.spec.remotePort === svc.port)?.localPort ?? 0;
        return local > 0 && (await echoes(local));
      },
      'the echo forward',
      30_000,
    );
    const pids = await agentPids(host);
    if (pids.length !== 1) throw new Error(`expected one agent on the remote, found ${pids.length}`);
    const view = (await client.call<{ hosts: HostView[] }>('GET', '/v1/hosts')).hosts.find((x) => x.id === id);
    return {
      host,
      svc,
      xdg,
      home,
      state,
      env,
      client,
      connectArgs,
      id,
      local,
      agentPid: pids[0] as number,
      reconnects: view?.reconnects ?? 0,
      apiPort,
      token: readFileSync(join(state, 'api-token'), 'utf8').trim(),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Undefined when the user's session is as it was (echo answers, same agent, connected, no reconnect); else why not. */
async function harmed(rig: Rig): Promise<string | undefined> {
  if (!(await echoes(rig.local).catch(() => false))) return 'the forward no longer echoes';
  if (!(await agentPids(rig.host)).includes(rig.agentPid)) return `the agent (pid ${rig.agentPid}) is gone`;
  const h = (await rig.client.call<{ hosts: HostView[] }>('GET', '/v1/hosts')).hosts.find((x) => x.id === rig.id);
  if (h?.state !== 'connected') return `the host is ${h?.state ?? 'gone'}`;
  if (h.reconnects !== rig.reconnects) return `the host reconnected (${rig.reconnects} -> ${h.reconnects})`;
  return undefined;
}

/** An agent this suite starts and drives itself over its own SSH session, to see its transport offer and its logs. */
interface Controlled {
  link: StdioAgentLink;
  offer: TransportEntry[];
  logs: string[];
  messages: Message[];
  close(): Promise<void>;
}

async function controlledAgent(session: Ssh2Session, deployed: DeployResult): Promise<Controlled> {
  const args = agentArgs({
    silenceTimeoutMs: 20_000,
    logLevel: 'debug',
    ...(deployed.quic ? { quic: deployed.quic } : {}),
  });
  const channel = await session.spawn(`${deployed.command} ${args}`);
  const link = new StdioAgentLink(channel, 'node', { silenceTimeoutMs: 20_000, pingIntervalMs: 1000 }, () => {});
  const logs: string[] = [];
  const messages: Message[] = [];
  link.on('log', (e: LogEvent) => logs.push(e.message));
  link.on('message', (m: Message) => messages.push(m));
  await link.ready;
  const offer = (await link.offer(3000)) ?? [];
  return { link, offer, logs, messages, close: () => link.close() };
}

/** A direct-tcpip dialer on the session; `record` gets every chunk the host writes on the channel. */
function dialer(session: Ssh2Session, record?: Buffer[]) {
  return (host: string, port: number) =>
    new Promise<Duplex>((resolve, reject) =>
      session.client.forwardOut('127.0.0.1', 0, host, port, (err, ch) => {
        if (err) return reject(err);
        if (record) {
          const write = ch.write.bind(ch) as (...a: unknown[]) => boolean;
          (ch as unknown as { write: (...a: unknown[]) => boolean }).write = (chunk: unknown, ...rest: unknown[]) => {
            record.push(Buffer.from(chunk as Uint8Array));
            return write(chunk, ...rest);
          };
        }
        resolve(ch);
      }),
    );
}

/** The agent answers a scan over whatever carries its frames now. */
async function scanAnswers(c: Controlled, timeoutMs = 5000): Promise<boolean> {
  const before = c.messages.filter((m) => m.type === 'ScanResponse').length;
  c.link.send({ type: 'ScanRequest', tcp: true, udp: false });
  return until(
    async () => c.messages.filter((m) => m.type === 'ScanResponse').length > before,
    'a scan answer',
    timeoutMs,
  ).then(
    () => true,
    () => false,
  );
}

/** Waits until one of the agent's log lines matches. */
const logged = (c: Controlled, re: RegExp, timeoutMs = 3000) =>
  until(async () => c.logs.some((l) => re.test(l)), `agent log ${re}`, timeoutMs).then(
    () => true,
    () => false,
  );

/** A UDP relay on 127.0.0.1 to `to`, keeping the first datagrams the client sent (a capture of its handshake). */
async function udpRelay(to: { host: string; port: number }) {
  const front = createSocket('udp4');
  const back = createSocket('udp4');
  const captured: Buffer[] = [];
  let client: { address: string; port: number } | undefined;
  front.on('message', (m, r) => {
    client = { address: r.address, port: r.port };
    if (captured.length < 8 && m.length <= 1500) captured.push(Buffer.from(m));
    back.send(m, to.port, to.host);
  });
  back.on('message', (m) => {
    if (client) front.send(m, client.port, client.address);
  });
  front.on('error', () => {});
  back.on('error', () => {});
  await Promise.all([
    new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r())),
    new Promise<void>((r) => back.bind(0, () => r())),
  ]);
  return {
    port: front.address().port,
    captured,
    close: () => {
      front.close();
      back.close();
    },
  };
}

/** A TCP relay on 127.0.0.1 to `to`, keeping what the client sent (its TLS handshake and first records). */
async function tcpRelay(to: { host: string; port: number }) {
  const captured: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((c) => {
    const up = netConnect({ host: to.host, port: to.port });
    sockets.add(c).add(up);
    c.on('data', (d: Buffer) => {
      if (captured.reduce((n, b) => n + b.length, 0) < 64 * 1024) captured.push(Buffer.from(d));
      up.write(d);
    });
    up.pipe(c);
    const end = () => {
      c.destroy();
      up.destroy();
    };
    c.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    captured,
    close: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

/** Writes `data` on a stream and resolves once as many bytes came back (an echo), or false after `timeoutMs`. */
function echoOver(stream: Duplex, data: Buffer, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    let got = 0;
    const timer = setTimeout(() => done(false), timeoutMs);
    const onData = (d: Buffer) => {
      got += d.length;
      if (got >= data.length) done(true);
    };
    const done = (ok: boolean) => {
      clearTimeout(timer);
      stream.off('data', onData);
      resolve(ok);
    };
    stream.on('data', onData);
    stream.once('error', () => done(false));
    stream.write(data);
  });
}

/** The rig agent's direct data path (TCP on the host's address) and QUIC ports. */
async function agentPorts(rig: Rig): Promise<{ dataPort: number; quicPort: number }> {
  const listeners = await listenersOf(rig.host, rig.agentPid);
  const dataPort = listeners.find((l) => l.proto === 'tcp' && l.address === rig.host.address)?.port;
  const quicPort = listeners.find((l) => l.proto === 'udp')?.port;
  if (!dataPort || !quicPort)
    throw new Error(`the agent's listeners lack the data path or QUIC: ${JSON.stringify(listeners)}`);
  return { dataPort, quicPort };
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Another local user

async function localUser(runs: number, ctx: FaultContext): Promise<RunResult[]> {
  const rig = await startRig({ connect: ['--transport', 'quic', '--data-path', 'direct'], staleToken: true });
  const out: RunResult[] = [];
  const session = await Ssh2Session.connect(rig.host);
  try {
    const deployed = await deployAgent(session, { mode: 'node', startInProbe: false });
    const { dataPort, quicPort } = await agentPorts(rig);
    for (let i = 0; i < runs; i++) {
      out.push(await guarded(() => localUserRun(rig, session, deployed, dataPort, quicPort)));
      ctx.log(`local-user run ${i + 1}: ${out.at(-1)?.ok ? 'refused' : out.at(-1)?.note}`);
    }
  } finally {
    session.close();
    await rig.close();
  }
  return out;
}

async function localUserRun(
  rig: Rig,
  session: Ssh2Session,
  deployed: DeployResult,
  dataPort: number,
  quicPort: number,
): Promise<RunResult> {
  const v = new Verdict();
  const ctl = await controlledAgent(session, deployed);
  try {
    const tcpEntry = ctl.offer.find((e) => e.kind === 'tcp');
    if (tcpEntry?.kind !== 'tcp') throw new Error('the agent offered no tcp transport');
    const files = readdirSync(rig.state).filter((f) => statSync(join(rig.state, f)).isFile());
    const socket = rig.client.socket;
    const { url } = await rig.client.call<{ url: string }>('POST', '/v1/dashboard');
    const dashPort = Number(new URL(url).port);
    const api = (method: string, path: string, headers: Record<string, string> = {}, body?: string): Attack => ({
      op: 'http',
      port: rig.apiPort,
      method,
      path,
      headers: { host: `127.0.0.1:${rig.apiPort}`, 'content-type': 'application/json', ...headers },
      ...(body ? { body } : {}),
    });
    const dash = (method: string, path: string, body?: string): Attack => ({
      op: 'http',
      port: dashPort,
      method,
      path,
      headers: { host: `127.0.0.1:${dashPort}`, 'content-type': 'application/json' },
      ...(body ? { body } : {}),
    });
    const here: Attack[] = [
      { op: 'unix', path: socket },
      ...files.map((f): Attack => ({ op: 'read', path: join(rig.state, f) })),
      api('GET', '/v1/status'),
      api('GET', '/v1/hosts', { authorization: `Bearer ${randomBytes(32).toString('base64url')}` }),
      api('GET', '/v1/hosts', { authorization: `Bearer ${STALE_TOKEN}` }),
      api('POST', '/v1/alloc', {}, JSON.stringify({ service_name: 'intruder', ttl_seconds: 60 })),
      dash('GET', '/v1/hosts'),
      dash('GET', '/v1/dashboard/stream'),
      dash('GET', '/session'),
      dash('POST', '/session', JSON.stringify({ code: randomBytes(24).toString('base64url') })),
      dash('GET', '/'),
      { op: 'tls', host: rig.host.address, port: dataPort, key: hex(randomBytes(32)) },
      { op: 'tls', host: rig.host.address, port: dataPort },
      { op: 'quic', host: rig.host.address, port: quicPort, cert: true, alpn: 'port-linker/1' },
      { op: 'quic', host: rig.host.address, port: quicPort, cert: false, alpn: 'port-linker/1' },
    ];
    const there: Attack[] = [
      { op: 'tcp', host: '127.0.0.1', port: tcpEntry.port, send: hex(randomBytes(32)), waitMs: 1500 },
      { op: 'tls', host: rig.host.address, port: dataPort, key: hex(randomBytes(32)) },
      { op: 'quic', host: '127.0.0.1', port: quicPort, cert: true, alpn: 'port-linker/1' },
    ];
    // the state dir opened up, as a careless pre-existing directory would be: the files' own modes keep others out
    chmodSync(rig.home, 0o755);
    chmodSync(rig.state, 0o755);
    let mine: Outcome[];
    let theirs: Outcome[];
    try {
      [mine, theirs] = await Promise.all([asNobody(here), asNobody(there, rig.host)]);
    } finally {
      chmodSync(rig.state, 0o700);
      chmodSync(rig.home, 0o700);
    }
    const secrets = [rig.token, rig.host.address, rig.id];
    const leaks = (o: Outcome | undefined) => secrets.filter((s) => o?.body?.includes(s)).length > 0;
    let k = 0;
    const next = () => mine[k++];
    const sock = next();
    v.expect(sock?.error === 'EACCES', 'control socket', seen(sock));
    const readable = files.flatMap(() => {
      const o = next();
      return o?.error === 'EACCES' ? [] : [o];
    });
    v.expect(readable.length === 0, 'state files', `${readable.length} of ${files.length} readable`);
    for (const what of [
      'API without a token',
      'API with a guessed token',
      'API with the token of a file others could read before',
      'API alloc without a token',
    ]) {
      const o = next();
      v.expect(o?.status === 401 && !leaks(o), what, seen(o));
    }
    for (const what of ['dashboard hosts', 'dashboard stream', 'dashboard session', 'dashboard guessed code']) {
      const o = next();
      v.expect(o?.status === 401 && !leaks(o), what, seen(o));
    }
    const page = next();
    v.expect(page?.status === 200 && !leaks(page), 'dashboard page (static, no data)', seen(page));
    for (const what of ['data path TLS, guessed key', 'data path TLS, no key']) {
      const o = next();
      v.expect(o?.connected === false, what, seen(o));
    }
    for (const what of ['QUIC with its own certificate', 'QUIC without a certificate']) {
      const o = next();
      v.expect(quicRefused(o), what, seen(o));
    }
    const [tcp, tls, quic] = theirs;
    v.expect(tcp?.closedAfterMs !== undefined && !tcp.receivedBytes, 'remote user: agent tcp port', seen(tcp));
    v.expect(tls?.connected === false, 'remote user: data path TLS', seen(tls));
    v.expect(quicRefused(quic), 'remote user: agent QUIC port', seen(quic));
    v.expect(await logged(ctl, /dropped a tcp peer: wrong secret/), 'agent log', 'no "dropped a tcp peer" line');
    // the listener still serves its owner: the host with the secret gets the transport
    const r = await negotiateTransport(
      ctl.offer,
      'tcp',
      { sendControl: (m) => ctl.link.sendControl(m), dial: dialer(session), log: () => {} },
      3000,
    );
    if (r.transport) ctl.link.useTransport(r.transport);
    v.expect(r.kind === 'tcp' && (await scanAnswers(ctl)), 'the owner after the attack', `got ${r.kind}`);
    const hurt = await harmed(rig);
    if (hurt) return { ok: false, note: `session harmed: ${hurt}` };
    const all = mine.concat(theirs);
    const codes = [...new Set(all.flatMap((o) => /code (\d+)/.exec(o.error ?? '')?.[1] ?? []))];
    const alerts = [
      ...new Set(
        all.flatMap((o) => (o.op === 'tls' && o.error ? [o.error.replace(/^.*ALERT_/, '').toLowerCase()] : [])),
      ),
    ];
    return v.result(
      `control socket ${seen(sock)}; ${files.length} state files EACCES (their dir opened to 0755, api-token too, which was 0644); API 401 x4 (the old readable token too), ` +
        `dashboard 401 x4 (the static page only); data path TLS refused (${alerts.join(', ')}); QUIC closed by the ` +
        `agent (codes ${codes.join(', ')}: bad/required certificate); agent tcp port: wrong secret, dropped`,
    );
  } finally {
    await ctl.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Tokens, Origin and Host (a web page, DNS rebinding)

async function headers(runs: number): Promise<RunResult[]> {
  const rig = await startRig();
  const out: RunResult[] = [];
  try {
    for (let i = 0; i < runs; i++) out.push(await guarded(() => headersRun(rig, i)));
  } finally {
    await rig.close();
  }
  return out;
}

async function headersRun(rig: Rig, i: number): Promise<RunResult> {
  const v = new Verdict();
  const p = rig.apiPort;
  const T = rig.token;
  const wrongToken = `${T.slice(0, -1)}${T.endsWith('A') ? 'B' : 'A'}`;
  const alloc = (n: string) => JSON.stringify({ service_name: `attack-${i}-${n}`, ttl_seconds: 60 });
  const json = { 'content-type': 'application/json' };
  const bearer = { ...json, authorization: `Bearer ${T}` };
  const apiAttacks: Array<[string, string, Record<string, string>, number, string]> = [
    ['no token', '/v1/alloc', json, 401, 'unauthorized'],
    ['a wrong token', '/v1/alloc', { ...json, authorization: `Bearer ${wrongToken}` }, 401, 'unauthorized'],
    ['the token without "Bearer"', '/v1/alloc', { ...json, authorization: T }, 401, 'unauthorized'],
    ['the token in the query', `/v1/alloc?token=${T}`, json, 401, 'unauthorized'],
    ['PortManager path, no token', '/alloc', json, 401, 'unauthorized'],
    ['Origin of another site', '/v1/alloc', { ...bearer, origin: 'http://evil.example' }, 403, 'bad_origin'],
    ['Origin null (sandboxed page)', '/v1/alloc', { ...bearer, origin: 'null' }, 403, 'bad_origin'],
    ['rebound Host', '/v1/alloc', { ...bearer, host: `evil.example:${p}` }, 403, 'bad_host'],
    ['Host 127.0.0.1.evil.example', '/v1/alloc', { ...bearer, host: `127.0.0.1.evil.example:${p}` }, 403, 'bad_host'],
    ['Host localhost.evil.example', '/v1/alloc', { ...bearer, host: 'localhost.evil.example' }, 403, 'bad_host'],
  ];
  for (const [n, [what, path, hdrs, status, code]] of apiAttacks.entries()) {
    const r = await httpCall(p, 'POST', path, hdrs, alloc(String(n)));
    v.expect(r.status === status && r.code === code, `API, ${what}`, `${r.status} ${r.code}`);
  }
  // over the API, hosts cannot be added at all, token or not
  const addOverApi = await httpCall(p, 'POST', '/v1/hosts', bearer, JSON.stringify({ target: 'root@192.0.2.1' }));
  v.expect(addOverApi.status === 404 || addOverApi.status === 405, 'API, POST /v1/hosts', `${addOverApi.status}`);
  // exec streams (a command on the remote) exist on the Unix socket only: no upgrade here, token or not
  const upgrade = (port: number, extra: string) =>
    rawFirstLine(
      port,
      `POST /v1/exec HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}Connection: Upgrade\r\n` +
        'Upgrade: port-linker-exec/1\r\nContent-Length: 0\r\n\r\n',
    );
  const execApi = await upgrade(p, `Authorization: Bearer ${T}\r\n`);
  v.expect(!/^HTTP\/1\.1 101/.test(execApi), 'API, an exec stream with the token', execApi || 'closed');
  // the legitimate client, for contrast: the same request with the token and a loopback Host works
  const legit = await httpCall(
    p,
    'POST',
    '/v1/alloc',
    bearer,
    JSON.stringify({ service_name: `owner-${i}`, ttl_seconds: 60 }),
  );
  v.expect(legit.status === 200 || legit.status === 201, 'API, the owner with the token', `${legit.status}`);
  const legitPort = (JSON.parse(legit.body) as { port?: number }).port;

  // the dashboard: a real session (cookie and CSRF token), then the same requests from elsewhere
  const { url, code } = await rig.client.call<{ url: string; code: string }>('POST', '/v1/dashboard');
  const d = Number(new URL(url).port);
  const s = await httpCall(d, 'POST', '/session', json, JSON.stringify({ code }));
  const cookie = String(s.headers['set-cookie'] ?? '').split(';')[0] as string;
  const csrf = (JSON.parse(s.body) as { csrf?: string }).csrf ?? '';
  if (s.status !== 200 || !cookie || !csrf) throw new Error(`no dashboard session: ${s.status} ${s.body}`);
  const addHost = JSON.stringify({ id: `attack-${i}`, target: 'root@192.0.2.1', auto: false });
  const full = { ...json, cookie, 'x-csrf-token': csrf };
  const dashAttacks: Array<[string, string, string, Record<string, string>, string | undefined, number, string]> = [
    [
      'add a host from another site',
      'POST',
      '/v1/hosts',
      { ...full, origin: 'http://evil.example' },
      addHost,
      403,
      'bad_origin',
    ],
    [
      'add a host under a rebound name',
      'POST',
      '/v1/hosts',
      { ...full, host: `evil.example:${d}` },
      addHost,
      403,
      'bad_host',
    ],
    ['add a host without the CSRF token', 'POST', '/v1/hosts', { ...json, cookie }, addHost, 403, 'bad_csrf'],
    [
      'add a host with a wrong CSRF token',
      'POST',
      '/v1/hosts',
      { ...full, 'x-csrf-token': `${csrf}x` },
      addHost,
      403,
      'bad_csrf',
    ],
    [
      'add a host without the cookie',
      'POST',
      '/v1/hosts',
      { ...json, 'x-csrf-token': csrf },
      addHost,
      401,
      'unauthorized',
    ],
    [
      'release a lease from another site',
      'POST',
      '/v1/release',
      { ...full, origin: `http://localhost:${d + 1}` },
      JSON.stringify({ port: legitPort }),
      403,
      'bad_origin',
    ],
    [
      'read the stream from another site',
      'GET',
      '/v1/dashboard/stream',
      { cookie, origin: 'http://evil.example' },
      undefined,
      403,
      'bad_origin',
    ],
    ['the page under a rebound name', 'GET', '/', { host: `evil.example:${d}` }, undefined, 403, 'bad_host'],
    [
      'the hosts under a rebound name',
      'GET',
      '/v1/hosts',
      { cookie, host: `localhost:${d + 1}` },
      undefined,
      403,
      'bad_host',
    ],
    ['the one-time code again', 'POST', '/session', json, JSON.stringify({ code }), 401, 'bad_code'],
    ['stop the daemon', 'POST', '/v1/shutdown', full, '{}', 404, 'not_found'],
  ];
  const execDash = await upgrade(d, `Cookie: ${cookie}\r\nX-CSRF-Token: ${csrf}\r\n`);
  v.expect(!/^HTTP\/1\.1 101/.test(execDash), 'dashboard, an exec stream with the session', execDash || 'closed');
  for (const [what, method, path, hdrs, body, status, want] of dashAttacks) {
    const r = await httpCall(d, method, path, hdrs, body);
    v.expect(r.status === status && r.code === want, `dashboard, ${what}`, `${r.status} ${r.code}`);
  }
  // nothing of it ran: no lease or host from the attacks, the owner's lease still there
  const { leases } = await rig.client.call<{ leases: Array<{ service_name: string; port: number }> }>(
    'GET',
    '/v1/list',
  );
  const { hosts } = await rig.client.call<{ hosts: HostView[] }>('GET', '/v1/hosts');
  const ran = [
    ...leases.filter((l) => l.service_name.startsWith(`attack-${i}-`)).map((l) => `lease ${l.service_name}`),
    ...hosts.filter((h) => h.id.startsWith('attack-')).map((h) => `host ${h.id}`),
  ];
  v.expect(ran.length === 0, 'executed anyway', ran.join(', '));
  v.expect(
    leases.some((l) => l.port === legitPort),
    'the owner lease',
    'released by a refused request',
  );
  await rig.client.call('POST', '/v1/release', { port: legitPort });
  const hurt = await harmed(rig);
  if (hurt) return { ok: false, note: `session harmed: ${hurt}` };
  return v.result(
    `API: ${apiAttacks.length} refused (401 unauthorized, 403 bad_origin/bad_host), no exec upgrade (${execApi.slice(9) || 'closed'}); ` +
      `dashboard: ${dashAttacks.length} refused (403 bad_origin/bad_host/bad_csrf, 401), no exec upgrade; no lease or host made`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// 3. A man in the middle with another host key

async function impostor(runs: number, ctx: FaultContext): Promise<RunResult[]> {
  // DEBUG1: the impostor's log shows whether a client ever asked to authenticate (userauth-request)
  const rig = await startRig({ sshd: ['LogLevel DEBUG1'], policy: 'accept-new' });
  const out: RunResult[] = [];
  const key = join(rig.host.dir, 'host_ed25519');
  const genuine = join(rig.host.dir, 'genuine_ed25519');
  const fake = join(rig.host.dir, 'impostor_ed25519');
  copyFileSync(key, genuine);
  copyFileSync(`${key}.pub`, `${genuine}.pub`);
  await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'impostor', '-f', fake]);
  try {
    // under auto the data path probe logs an OpenSSH ControlMaster in to the genuine server soon after the daemon's
    // own login: both are done before the first swap (a login still in flight would be logged after the mark, as
    // if the impostor had met it); without ssh on PATH there is one login only
    await until(
      async () => (rig.host.sshdLog().match(/Accepted publickey/g) ?? []).length >= 2,
      'the ControlMaster login',
      10_000,
    ).catch(() => {});
    for (let i = 0; i < runs; i++) {
      out.push(await guarded(() => impostorRun(rig, { key, genuine, fake })));
      ctx.log(`impostor run ${i + 1}: ${out.at(-1)?.note}`);
    }
  } finally {
    await rig.close();
  }
  return out;
}

async function useKey(host: RemoteHost, key: string, from: string): Promise<void> {
  copyFileSync(from, key);
  copyFileSync(`${from}.pub`, `${key}.pub`);
  chmodSync(key, 0o600);
  await host.restartSshdListener(); // the session already made lives on (its own sshd process)
}

async function impostorRun(rig: Rig, keys: { key: string; genuine: string; fake: string }): Promise<RunResult> {
  const v = new Verdict();
  const known = readFileSync(rig.host.knownHostsPath, 'utf8');
  await useKey(rig.host, keys.key, keys.fake);
  const mark = rig.host.sshdLog().length;
  let recoveryMs: number | undefined;
  try {
    // new connections under the same name and known_hosts entry meet the impostor's key
    const fg = await runCli(
      ['--json', '--no-notify', ...sshArgs(rig.host, 'accept-new'), '-p', String(rig.svc.port), rig.host.target],
      { PORT_LINKER_HOME: join(rig.home, 'fg'), PORT_LINKER_LOG: 'warn' },
      30_000,
    );
    v.expect(
      fg.code === 3 && /HOST KEY|IDENTIFICATION HAS CHANGED/i.test(fg.stderr),
      'a new mirror (accept-new)',
      `exit ${fg.code}: ${fg.stderr.trim().split('\n').pop()}`,
    );
    const test = await runCli(['test', '--json', ...sshArgs(rig.host, 'no'), rig.host.target], rig.env, 30_000);
    const step = (JSON.parse(test.stdout || '{}') as { steps?: Array<{ name: string; ok: boolean; detail: string }> })
      .steps?.[0];
    v.expect(
      test.code === 1 && step?.ok === false && /HOST KEY|CHANGED/i.test(step.detail),
      'port-linker test (StrictHostKeyChecking=no)',
      `exit ${test.code}: ${step?.detail.split('\n')[0] ?? test.stderr.trim()}`,
    );
    // the session made before the swap is not redirected: it still runs over the genuine sshd's connection
    const hurt = await harmed(rig);
    v.expect(hurt === undefined, 'the existing session', hurt ?? '');
    // the man in the middle now also cuts that connection: the daemon reconnects, meets the impostor and stops
    const sessions = await sshSessionPids(rig.host);
    for (const pid of sessions) process.kill(pid, 'SIGKILL');
    const view = async () =>
      (await rig.client.call<{ hosts: HostView[] }>('GET', '/v1/hosts')).hosts.find((x) => x.id === rig.id);
    await until(async () => (await view())?.state === 'failed', 'the host to stop on the host key', 30_000).catch(
      () => {},
    );
    const h = await view();
    v.expect(
      h?.state === 'failed' && /host key/i.test(h.error ?? ''),
      'the reconnect to the impostor',
      `${h?.state}: ${(h?.error ?? '').split('\n')[0]}`,
    );
    v.expect(!(await echoes(rig.local, 500).catch(() => false)), 'the forward after the reconnect', 'still echoes');
    v.expect(readFileSync(rig.host.knownHostsPath, 'utf8') === known, 'known_hosts', 'rewritten');
    const log = rig.host.sshdLog().slice(mark);
    const attempts = (log.match(/Connection from /g) ?? []).length;
    const auth = log.match(/userauth-request[^\n]*|Accepted \w+ for[^\n]*|Postponed \w+[^\n]*/)?.[0];
    v.expect(attempts >= 3 && auth === undefined, 'credentials', auth ?? `${attempts} connections logged`);
    // the real host back: `connect` again restarts the stopped host, the forward on its port
    await useKey(rig.host, keys.key, keys.genuine);
    const genuineMark = rig.host.sshdLog().length;
    const t0 = performance.now();
    const again = await runCli(['connect', ...rig.connectArgs], rig.env, 60_000);
    if (again.code !== 0) throw new Error(`connect after the impostor: ${again.stderr.trim().split('\n').pop()}`);
    await until(async () => echoes(rig.local), 'the forward back', 30_000);
    recoveryMs = performance.now() - t0;
    // the same log does show a client's credentials: the genuine host's login has them
    v.expect(
      /userauth-request/.test(rig.host.sshdLog().slice(genuineMark)),
      'the credentials check',
      'sshd logs no userauth-request even for the genuine login',
    );
    const pids = await agentPids(rig.host);
    rig.agentPid = pids.find((p) => p !== rig.agentPid) ?? pids[0] ?? 0;
    rig.reconnects = (await view())?.reconnects ?? 0;
    return v.result(
      `refused with HOST KEY CHANGED (new mirror exit 3, test, reconnect: host failed); ${attempts} connections to the impostor, no userauth-request; forward not redirected`,
      { recoveryMs },
    );
  } finally {
    if (recoveryMs === undefined) await useKey(rig.host, keys.key, keys.genuine).catch(() => {});
  }
}

/** The per-connection sshd processes (`sshd: root@notty`, `sshd: root [priv]`; not the listener): live sessions. */
async function sshSessionPids(host: RemoteHost): Promise<number[]> {
  const r = await run(['ip', 'netns', 'pids', host.ns], { allowFail: true });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmd.startsWith('sshd: ') && !cmd.includes('[listener]');
      } catch {
        return false;
      }
    });
}

// ---------------------------------------------------------------------------------------------------------------
// 4. A tampered agent in the remote's cache

async function tampered(runs: number, ctx: FaultContext): Promise<RunResult[]> {
  const xdg = mkdtempSync(join(tmpdir(), 'pl-sec-tamper-'));
  const host = await RemoteHost.start({ quietShell: true, sshdConfig: [`SetEnv XDG_CACHE_HOME=${xdg}`] });
  const svc = await host.serve('tcp-echo', 0, '127.0.0.1');
  const out: RunResult[] = [];
  const cache = join(xdg, 'port-linker', 'agents');
  const script = readFileSync(AGENT_SCRIPT);
  const sha = sha256(script);
  const agentFile = join(cache, sha);
  const marker = join(xdg, 'tampered-code-ran');
  const evil = `\n;require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran");\n`;
  /** One session from scratch: the agent deployed (or the cache checked), the forward echoed; stderr and agent. */
  const session = async (extra: string[] = []) => {
    const cli = CliProcess.against(host, ['--ports', String(svc.port), ...extra], { PORT_LINKER_LOG: 'info' });
    try {
      const fwd = await cli.forwardFor(svc.port);
      const agent = await cli.waitEvent((e) => e.event === 'agent', 'the agent');
      const echoed = await echoes(fwd.local_port as number).catch(() => false);
      return { echoed, stderr: cli.stderr, transport: agent.transport };
    } finally {
      await cli.stop().catch(() => cli.child.kill('SIGKILL'));
    }
  };
  try {
    await session(['--transport', 'quic']); // the first deploy fills the cache, QUIC files included
    const quicDir = join(cache, 'quic');
    // the bundle is the JavaScript one of the two (the addon is an ELF shared object)
    const bundle = readdirSync(quicDir).find((f) => !readFileSync(join(quicDir, f)).subarray(0, 4).equals(ELF));
    const variants: Array<{ name: string; tamper: () => void; check: () => string | undefined; extra?: string[] }> = [
      { name: 'code appended', tamper: () => appendFileSync(agentFile, evil), check: () => cachedOk(agentFile, sha) },
      {
        name: 'truncated',
        tamper: () => writeFileSync(agentFile, script.subarray(0, 100)),
        check: () => cachedOk(agentFile, sha),
      },
      {
        name: 'code appended, its hash forged in <sha>.signed',
        tamper: () => {
          appendFileSync(agentFile, evil);
          writeFileSync(`${agentFile}.signed`, sha256(readFileSync(agentFile)));
        },
        check: () => cachedOk(agentFile, sha),
      },
      {
        name: 'a symlink to a tampered copy',
        tamper: () => {
          const copy = join(xdg, 'evil-agent.cjs');
          writeFileSync(copy, Buffer.concat([script, Buffer.from(evil)]));
          unlinkSync(agentFile);
          symlinkSync(copy, agentFile);
        },
        check: () => (lstatSync(agentFile).isSymbolicLink() ? 'still a symlink' : cachedOk(agentFile, sha)),
      },
      {
        // node runs a directory's index.js: the cached name must be the verified file, never anything else
        name: 'a directory with an index.js in its place',
        tamper: () => {
          rmSync(agentFile, { force: true });
          mkdirSync(agentFile);
          writeFileSync(join(agentFile, 'index.js'), Buffer.concat([script, Buffer.from(evil)]));
        },
        check: () => (lstatSync(agentFile).isDirectory() ? 'still a directory' : cachedOk(agentFile, sha)),
      },
      {
        name: 'a symlink to such a directory',
        tamper: () => {
          const dir = join(xdg, 'evil-agent-dir');
          rmSync(dir, { recursive: true, force: true });
          mkdirSync(dir);
          writeFileSync(join(dir, 'index.js'), Buffer.concat([script, Buffer.from(evil)]));
          rmSync(agentFile, { force: true });
          symlinkSync(dir, agentFile);
        },
        check: () => (lstatSync(agentFile).isSymbolicLink() ? 'still a symlink' : cachedOk(agentFile, sha)),
      },
      ...(bundle
        ? [
            {
              name: 'QUIC bundle with code appended',
              tamper: () => appendFileSync(join(quicDir, bundle), evil),
              check: () => cachedOk(join(quicDir, bundle), bundle),
              extra: ['--transport', 'quic'],
            },
          ]
        : []),
    ];
    const restore = () => {
      rmSync(`${agentFile}.signed`, { force: true });
      if (lstatSync(agentFile, { throwIfNoEntry: false })?.isSymbolicLink() || cachedOk(agentFile, sha)) {
        rmSync(agentFile, { recursive: true, force: true });
        writeFileSync(agentFile, script, { mode: 0o700 });
      }
      if (bundle && cachedOk(join(quicDir, bundle), bundle))
        writeFileSync(join(quicDir, bundle), readFileSync(AGENT_QUIC), { mode: 0o600 });
    };
    for (let i = 0; i < runs; i++) {
      out.push(
        await guarded(async () => {
          const v = new Verdict();
          for (const t of variants) {
            t.tamper();
            const s = await session(t.extra);
            const detected = /failed its sha256 check/.test(s.stderr);
            const ran = existsSync(marker);
            rmSync(marker, { force: true });
            const after = t.check();
            restore(); // a tampering that got through must not spill into the next one
            v.expect(
              !ran && detected && after === undefined && s.echoed && (!t.extra || s.transport === 'quic'),
              t.name,
              ran
                ? 'the tampered code RAN'
                : !detected
                  ? 'not detected'
                  : (after ?? (s.echoed ? `transport ${s.transport}` : 'the new session does not echo')),
            );
          }
          return v.result(
            `${variants.length} tamperings: each warned as failing its sha256 check, replaced by the verified file, its code never run; each next session echoes`,
          );
        }),
      );
      ctx.log(`tamper run ${i + 1}: ${out.at(-1)?.ok ? 'detected' : out.at(-1)?.note}`);
    }
  } finally {
    await svc.stop();
    await host.close();
    rmSync(xdg, { recursive: true, force: true });
  }
  return out;
}

/** Undefined when `file` is a regular file whose sha256 is `sha` again; else what it is. */
function cachedOk(file: string, sha: string): string | undefined {
  if (!existsSync(file)) return 'gone from the cache';
  if (!statSync(file).isFile()) return 'not a regular file';
  const got = sha256(readFileSync(file));
  return got === sha ? undefined : `still tampered (sha256 ${got.slice(0, 12)})`;
}

// ---------------------------------------------------------------------------------------------------------------
// 5. Replayed and forged handshakes

async function replayed(runs: number, ctx: FaultContext): Promise<RunResult[]> {
  const rig = await startRig({ connect: ['--transport', 'quic', '--data-path', 'direct'] });
  const out: RunResult[] = [];
  const session = await Ssh2Session.connect(rig.host);
  try {
    const deployed = await deployAgent(session, { mode: 'node', quic: true, startInProbe: false });
    if (!deployed.quic) throw new Error(`no QUIC for the controlled agent: ${deployed.quicReason}`);
    const { dataPort, quicPort } = await agentPorts(rig);
    for (let i = 0; i < runs; i++) {
      out.push(await guarded(() => replayRun(rig, session, deployed, { dataPort, quicPort })));
      ctx.log(`replay run ${i + 1}: ${out.at(-1)?.ok ? 'refused' : out.at(-1)?.note}`);
    }
  } finally {
    session.close();
    await rig.close();
  }
  return out;
}

async function replayRun(
  rig: Rig,
  session: Ssh2Session,
  deployed: DeployResult,
  product: { dataPort: number; quicPort: number },
): Promise<RunResult> {
  const v = new Verdict();
  const { connectQuicTransport, generateQuicIdentity } = await import('@port-linker/transport/quic');
  const closers: Array<() => unknown> = [];
  try {
    // A: a legitimate tcp handshake, captured (the secret and the first frames, as they leave the host)
    const a = await controlledAgent(session, deployed);
    closers.push(() => a.close());
    const tcpA = a.offer.find((e) => e.kind === 'tcp');
    const capturedTcp: Buffer[] = [];
    const ra = await negotiateTransport(
      a.offer,
      'tcp',
      { sendControl: (m) => a.link.sendControl(m), dial: dialer(session, capturedTcp), log: () => {} },
      3000,
    );
    if (ra.kind !== 'tcp' || !ra.transport || tcpA?.kind !== 'tcp') throw new Error('no tcp transport to capture');
    a.link.useTransport(ra.transport);
    if (!(await scanAnswers(a))) throw new Error('the captured session does not answer');
    const tcpReplay = hex(Buffer.concat(capturedTcp));
    // B: a fresh agent whose listeners are open (offered, not yet taken)
    const b = await controlledAgent(session, deployed);
    closers.push(() => b.close());
    const tcpB = b.offer.find((e) => e.kind === 'tcp');
    const quicB = b.offer.find((e) => e.kind === 'quic');
    if (tcpB?.kind !== 'tcp' || quicB?.kind !== 'quic')
      throw new Error(`agent B offered ${b.offer.map((e) => e.kind)}`);
    const forged = hex(
      Buffer.concat([
        encodeMessage({ type: 'TransportAccept', kind: 'tcp', data: new Uint8Array(0) }),
        encodeMessage({ type: 'Ping', value: 1n }),
      ]),
    );
    const [replayB, replayA, forgedB, oracle] = await asNobody(
      [
        { op: 'tcp', host: '127.0.0.1', port: tcpB.port, send: tcpReplay, waitMs: 1500 },
        { op: 'tcp', host: '127.0.0.1', port: tcpA.port, send: tcpReplay, waitMs: 500 },
        { op: 'tcp', host: '127.0.0.1', port: tcpB.port, send: forged, waitMs: 7000 },
        { op: 'oracle', host: '127.0.0.1', port: tcpB.port, bytes: 32, waitMs: 300 },
      ],
      rig.host,
    );
    const noAccept = (o: Outcome | undefined) => o?.closedAfterMs !== undefined && !o.receivedBytes;
    v.expect(noAccept(replayB), 'tcp: the captured handshake replayed to a new agent', seen(replayB));
    v.expect(replayA?.error === 'ECONNREFUSED', 'tcp: replayed to the captured agent', seen(replayA));
    // shorter than the secret: held until the 5 s the agent gives a peer, then dropped, never answered
    v.expect(
      noAccept(forgedB) && (forgedB?.closedAfterMs ?? 0) >= 4000,
      'tcp: a forged TransportAccept instead of the secret',
      seen(forgedB),
    );
    v.expect(
      (oracle?.closed === 0 || oracle?.closed === 256) && !oracle.recovered,
      'tcp: the secret guessed a byte at a time',
      oracle?.error ??
        `the agent closed ${oracle?.closed} of 256 one-byte guesses, keeping ${oracle?.open} open; ` +
          `${oracle?.recovered} secret bytes recovered${oracle?.taken ? ', and the agent kept the connection sending them' : ''}`,
    );

    // B's legitimate QUIC handshake through a relay that keeps its datagrams; then its data path, likewise
    const relay = await udpRelay({ host: rig.host.address, port: quicB.port });
    closers.push(() => relay.close());
    const identity = await generateQuicIdentity('port-linker-host');
    const connector: QuicConnector = {
      fingerprint: identity.fingerprint,
      connect: (_port, fingerprint, timeoutMs) =>
        connectQuicTransport({ host: '127.0.0.1', port: relay.port, fingerprint, identity, timeoutMs }),
    };
    const rb = await negotiateTransport(
      b.offer,
      'quic',
      { sendControl: (m) => b.link.sendControl(m), dial: dialer(session), log: () => {}, quic: connector },
      3000,
    );
    if (rb.kind !== 'quic' || !rb.transport)
      throw new Error(`no quic for agent B: ${rb.failures.join('; ')} (agent: ${b.logs.slice(-3).join(' / ')})`);
    b.link.useTransport(rb.transport);
    b.link.send({ type: 'DataPathRequest' });
    await until(async () => b.messages.some((m) => m.type === 'DataPathOffer'), 'a data path offer', 5000);
    const offer = b.messages.find((m) => m.type === 'DataPathOffer');
    if (offer?.type !== 'DataPathOffer' || offer.port === 0) throw new Error('no data path offer');
    const tlsRelay = await tcpRelay({ host: rig.host.address, port: offer.port });
    closers.push(() => tlsRelay.close());
    const mux = await connectDirect({ address: '127.0.0.1', port: tlsRelay.port, key: offer.key }, 3000);
    closers.push(() => mux.close());
    const stream = mux.open('127.0.0.1', rig.svc.port);
    if (!(await echoOver(stream, Buffer.from('before the replay')))) throw new Error('no echo over the data path');
    const tlsReplay = hex(Buffer.concat(tlsRelay.captured));
    const quicReplay = relay.captured.map(hex);
    const logsBefore = b.logs.length;
    // datagrams no QUIC stack sends: random ones, long headers of QUIC v1 and of an unknown version, short headers,
    // an empty one, and a replayed first packet cut short
    const garbage = [
      Buffer.alloc(0),
      randomBytes(1),
      randomBytes(1200),
      Buffer.concat([Buffer.of(0xc3, 0, 0, 0, 1), randomBytes(1195)]),
      Buffer.concat([Buffer.of(0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 8), randomBytes(1194)]),
      Buffer.concat([Buffer.of(0x40), randomBytes(60)]),
      Buffer.from(relay.captured[0] ?? randomBytes(1200)).subarray(0, 40),
    ];
    // bytes no TLS client sends: random ones, a record header claiming 64 KiB, an SSLv2 hello, plain HTTP
    const tlsJunk = [
      randomBytes(512),
      Buffer.concat([Buffer.of(0x16, 0x03, 0x01, 0xff, 0xff), randomBytes(64)]),
      Buffer.concat([Buffer.from('801c010002000300000010010080', 'hex'), randomBytes(16)]), // SSLv2 CLIENT-HELLO
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    ];
    const attacks: Attack[] = [
      { op: 'udp', host: rig.host.address, port: quicB.port, datagrams: quicReplay, waitMs: 1000 },
      { op: 'udp', host: rig.host.address, port: product.quicPort, datagrams: quicReplay, waitMs: 1000 },
      { op: 'quic', host: rig.host.address, port: product.quicPort, cert: true, alpn: 'port-linker/1' },
      { op: 'quic', host: rig.host.address, port: product.quicPort, cert: false, alpn: 'port-linker/1' },
      { op: 'udp', host: rig.host.address, port: product.quicPort, datagrams: garbage.map(hex), waitMs: 500 },
      { op: 'tcp', host: rig.host.address, port: offer.port, send: tlsReplay, waitMs: 2000 },
      { op: 'tcp', host: rig.host.address, port: product.dataPort, send: tlsReplay, waitMs: 2000 },
      { op: 'tls', host: rig.host.address, port: product.dataPort, key: hex(randomBytes(32)) },
      { op: 'tls', host: rig.host.address, port: product.dataPort },
      ...tlsJunk.map(
        (j): Attack => ({ op: 'tcp', host: rig.host.address, port: product.dataPort, send: hex(j), waitMs: 2000 }),
      ),
    ];
    const [, , qCert, qNone, , tB, tP, pskWrong, noPsk, ...tJunk] = await asNobody(attacks, rig.host);
    v.expect(quicRefused(qCert), 'quic: a client with another certificate', seen(qCert));
    v.expect(quicRefused(qNone), 'quic: a client without a certificate', seen(qNone));
    // a replayed TLS flight gets the server's fresh handshake at most, never an application record it can use;
    // the agent logs the refusal
    v.expect(tB?.closedAfterMs !== undefined, 'TLS: the captured handshake replayed to its listener', seen(tB));
    v.expect(tP?.closedAfterMs !== undefined, 'TLS: replayed to the session agent', seen(tP));
    v.expect(pskWrong?.connected === false, 'TLS: a guessed key', seen(pskWrong));
    v.expect(noPsk?.connected === false, 'TLS: no key (a certificate handshake)', seen(noPsk));
    for (const [n, o] of tJunk.entries()) v.expect(o.closedAfterMs !== undefined, `TLS: garbage ${n}`, seen(o));
    v.expect(await logged(b, /data path: a TLS client was refused/), 'TLS replay, agent log', 'no refusal logged');
    // B's links go on: the QUIC transport (a scan), the TLS session (another echo, and a new stream)
    v.expect(await scanAnswers(b), 'agent B after the replays', 'its quic transport no longer answers');
    v.expect(await echoOver(stream, Buffer.from('after the replay')), 'the data path after the replays', 'no echo');
    v.expect(
      await echoOver(mux.open('127.0.0.1', rig.svc.port), Buffer.from('a new stream')),
      'a new data path stream',
      'no echo',
    );
    v.expect(
      !b.logs.slice(logsBefore).some((l) => /frames now travel over|transport closed/.test(l)),
      'agent B transport',
      b.logs.slice(logsBefore).find((l) => /frames now travel over|transport closed/.test(l)) ?? '',
    );
    const hurt = await harmed(rig);
    if (hurt) return { ok: false, note: `session harmed: ${hurt}` };
    return v.result(
      'tcp: replayed secret dropped, forged accept dropped at the 5 s auth timeout, replay to the used port ' +
        `${replayA?.error}, no byte-at-a-time oracle; QUIC: ${quicReplay.length} replayed handshake datagrams and ` +
        `${garbage.length} garbage ones, no new peer; foreign and missing client certificates closed ` +
        `(${qCert?.error}, ${qNone?.error}); TLS: replayed handshake closed, guessed key ${pskWrong?.error}, ` +
        `no key ${noPsk?.error}, ${tlsJunk.length} kinds of garbage closed; both sessions unharmed`,
    );
  } finally {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => {});
  }
}

export const SECURITY_FAULTS: FaultRow[] = [
  {
    id: 'sec-local-user',
    label:
      'another local user (nobody) at the control socket, state files, loopback API, dashboard, and the agent tcp/QUIC/data-path listeners: EACCES, 401, handshake refused; the session unharmed',
    runs: 3,
    quickRuns: 1,
    measure: localUser,
  },
  {
    id: 'sec-headers',
    label:
      'wrong or missing API token, foreign Origin, rebound Host, missing CSRF on the API and the dashboard: 401/403, nothing executed',
    runs: 3,
    quickRuns: 1,
    measure: headers,
  },
  {
    id: 'sec-impostor',
    label:
      'man in the middle: sshd with another host key under the same name: refused with HOST KEY CHANGED before any credential, the forward not redirected (recovery: `connect` once the real key is back)',
    runs: 3,
    quickRuns: 1,
    measure: impostor,
  },
  {
    id: 'sec-tampered-agent',
    label:
      'tampered agent in the remote cache (code appended, truncated, forged .signed hash, symlink, directory, QUIC bundle): detected, replaced, never run',
    runs: 3,
    quickRuns: 1,
    measure: tampered,
  },
  {
    id: 'sec-replay',
    label:
      'replayed and forged transport handshakes (tcp secret replay, forged accept, byte-at-a-time guessing; QUIC replay, foreign or no certificate, garbage; TLS replay, guessed key): refused, the session unharmed',
    runs: 3,
    quickRuns: 1,
    measure: replayed,
  },
];
