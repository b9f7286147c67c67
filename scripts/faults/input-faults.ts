// Bad input, injected for real into real processes: mutated frames into the decoder and into a live agent (its stdio
// and its tcp transport listener), junk and slow clients on the daemon's control API, broken profiles files, a
// damaged or locked state database, a full disk under the state dir. A row passes only when the product behaves:
// a typed error or a clear one-line message (4xx from the API), no stack trace, no hang, memory bounded, and the
// running daemon keeps serving (its forwards, its next request).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { request } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as delay } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadProfiles, ProfileError } from '../../packages/profiles/src/index.ts';
import { FrameDecoder } from '../../packages/proto/src/frame-decoder.ts';
import { fuzzDecoder, fuzzMuxParser, mutateFrame } from '../../packages/proto/src/fuzz.ts';
import {
  DEFAULT_MAX_FRAME_LENGTH,
  encodeMessage,
  type Message,
  MessageDecoder,
  ProtocolError,
  type UnknownMessage,
} from '../../packages/proto/src/index.ts';
import { MUX_MAX_CONTROL } from '../../packages/proto/src/mux-frame.ts';
import { prng, sampleMessages } from '../../packages/proto/src/test-messages.ts';
import { RemoteHost, run, type Service } from '../../test/harness/index.ts';
import { ensureAgentBundle } from '../../test/support/agent-bundle.ts';
import { type CliResult, runCli } from '../../test/support/cli-run.ts';
import { onCleanup, stopChild, track } from '../bench/cleanup.ts';
import type { FaultContext, FaultRow, RunResult } from './fault-types.ts';
import { echoes, fdCount, rssMb, until } from './probes.ts';

const MiB = 1024 * 1024;
const fmt = (n: number) => n.toLocaleString('en-US');
/** FAULTS_DEBUG=1: every problem of a run in its note, and the API row's timings on stderr. */
const DEBUG = Boolean(process.env.FAULTS_DEBUG);
const errText = (err: unknown) => (err as Error)?.message?.split('\n')[0] ?? String(err);

/** How long `check` took to hold (probes.ts `until`, 10 s); 0 with the failure in `problems` when it did not. */
function waitedMs(problems: string[], check: () => Promise<boolean>, what: string): Promise<number> {
  return until(check, what, 10_000).catch((err: unknown) => {
    problems.push(errText(err));
    return 0;
  });
}

/** Runs `each` `runs` times; a run that throws is a failed run with the reason, and the next one is tried. */
async function repeat(runs: number, each: (i: number) => Promise<RunResult>): Promise<RunResult[]> {
  const out: RunResult[] = [];
  for (let i = 0; i < runs; i++) out.push(await each(i).catch((err: unknown) => ({ ok: false, note: errText(err) })));
  return out;
}

/** A run's verdict: ok when nothing went wrong, else the first problems in the note. */
function verdict(problems: string[], note: string, recoveryMs?: number): RunResult {
  return {
    ok: problems.length === 0,
    ...(recoveryMs === undefined ? {} : { recoveryMs }),
    note:
      problems.length > 0
        ? `${problems.slice(0, 2).join('; ')}${problems.length > 2 ? ` (+${problems.length - 2} more)` : ''}`
        : note,
  };
}

/** A stack trace in a process's output (an uncaught error), as opposed to the one-line messages it means to print. */
const STACK = /\n\s+at [^\n]+:\d+:\d+\)?|^\s+at [^\n]+:\d+:\d+|crashed:|Uncaught|node:internal/m;

// ---------------------------------------------------------------------------------------------------------------
// 1. The decoder

/** `gc()` of this process (turned on for the measurement; the row runs in the suite's own process). */
function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => {
    gc();
    gc();
  };
}

/** Length prefixes at and past the bound: nothing allocated for what a header announces, and an error at once past it. */
function lengthPrefixChecks(gc: () => void): string[] {
  const problems: string[] = [];
  const header = (type: number, length: number) => {
    const h = new Uint8Array(5);
    h[0] = type;
    new DataView(h.buffer).setUint32(1, length);
    return h;
  };
  gc();
  const before = process.memoryUsage();
  const d = new FrameDecoder();
  d.push(header(0x01, DEFAULT_MAX_FRAME_LENGTH));
  d.push(new Uint8Array(1));
  gc();
  const grown = (process.memoryUsage().arrayBuffers - before.arrayBuffers) / MiB;
  if (d.bufferedBytes !== 6) problems.push(`a 16 MiB header and 1 byte buffered ${d.bufferedBytes} B`);
  if (grown > 1) problems.push(`a header announcing 16 MiB allocated ${grown.toFixed(1)} MiB up front`);
  for (const length of [DEFAULT_MAX_FRAME_LENGTH + 1, 0xffffffff]) {
    try {
      new FrameDecoder().push(header(0x01, length));
      problems.push(`a length of ${length} was not refused`);
    } catch (err) {
      if (!(err instanceof ProtocolError)) problems.push(`a length of ${length}: ${errText(err)} (not ProtocolError)`);
    }
  }
  return problems;
}

async function decoderRuns(runs: number, ctx: FaultContext): Promise<RunResult[]> {
  const gc = gcFunction();
  const iterations = ctx.quick ? 100_000 : 1_000_000;
  return repeat(runs, async (i) => {
    gc();
    const before = process.memoryUsage();
    const t0 = performance.now();
    const frames = fuzzDecoder({ iterations, seed: 1000 + i, maxFrameLength: DEFAULT_MAX_FRAME_LENGTH });
    const mux = fuzzMuxParser({ iterations, seed: 2000 + i });
    const s = (performance.now() - t0) / 1000;
    const problems = lengthPrefixChecks(gc);
    gc();
    const after = process.memoryUsage();
    for (const [name, r] of [
      ['frame decoder', frames],
      ['mux parser', mux],
    ] as const) {
      if (r.foreignErrors > 0)
        problems.push(`${name}: ${r.foreignErrors} errors other than ProtocolError: ${r.firstForeign.split('\n')[0]}`);
    }
    // one frame plus one chunk (the fuzzer's chunks are at most 32 B) is all a decoder may hold
    if (frames.maxBuffered > DEFAULT_MAX_FRAME_LENGTH + 5 + 32)
      problems.push(`the decoder held ${frames.maxBuffered} B`);
    if (mux.maxBuffered > MUX_MAX_CONTROL) problems.push(`the mux parser held a ${mux.maxBuffered} B control payload`);
    const heapGrowth = (after.heapUsed - before.heapUsed) / MiB;
    if (heapGrowth > 16) problems.push(`heap grew ${heapGrowth.toFixed(0)} MB over the run`);
    const mb = (n: number) => (n / MiB).toFixed(0);
    return verdict(
      problems,
      `${fmt(iterations)} frames + ${fmt(iterations)} mux frames per run in ${s.toFixed(1)} s: ${fmt(frames.protocolErrors + mux.protocolErrors)} ProtocolErrors, 0 other; heap ${mb(before.heapUsed)} -> ${mb(after.heapUsed)} MB, RSS ${mb(before.rss)} -> ${mb(after.rss)} MB`,
    );
  });
}

// ---------------------------------------------------------------------------------------------------------------
// 2. A live agent

type Decoded = Message | UnknownMessage;

/** The bundled agent on pipes, as sshd runs it: every stdout byte decoded, stderr kept. */
class AgentUnderTest {
  readonly child: ChildProcess;
  readonly messages: Decoded[] = [];
  stderr = '';
  /** Set when the agent's own output did not decode (its bug, not the input's). */
  badOutput: string | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters: Array<() => void> = [];

  constructor(script: string) {
    const env = { ...process.env };
    delete env.SSH_CONNECTION; // no data path listener: DataPathRequest answers "port 0"
    this.child = track(spawn(process.execPath, [script, '--silence-timeout-ms', '10000'], { stdio: 'pipe', env }));
    const decoder = new MessageDecoder();
    this.child.stdout?.on('data', (c: Buffer) => {
      try {
        this.messages.push(...decoder.push(c));
      } catch (err) {
        this.badOutput ??= errText(err);
      }
      for (const w of this.#waiters.splice(0)) w();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    this.child.stdin?.on('error', () => {}); // EPIPE once it has ended the session
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    void this.exited.then(() => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  send(bytes: Uint8Array): void {
    if (this.child.stdin?.writable) this.child.stdin.write(bytes);
  }

  /** Resolves true once a message matching `pred` arrived (from `from` on), false after `ms` or when it exited. */
  async waitFor(pred: (m: Decoded) => boolean, ms: number, from = 0): Promise<boolean> {
    const deadline = performance.now() + ms;
    for (;;) {
      if (this.messages.slice(from).some(pred)) return true;
      if (!this.alive || performance.now() > deadline) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - performance.now()));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a Ping and waits for its Pong. */
  async ping(value: bigint, ms = 2000): Promise<boolean> {
    const from = this.messages.length;
    this.send(encodeMessage({ type: 'Ping', value }));
    return this.waitFor((m) => m.type === 'Pong' && m.value === value, ms, from);
  }

  /** Started: its hello (and its transport offer) arrived. */
  async ready(): Promise<void> {
    if (!(await this.waitFor((m) => m.type === 'TransportOffer', 10_000)))
      throw new Error(`the agent did not start (${this.stderr.trim() || 'no output'})`);
  }

  async stop(): Promise<void> {
    await stopChild(this.child, 'SIGKILL');
  }
}

/** What is wrong with how an agent ended (code, signal, stderr), or undefined when it ended the way it means to. */
function badEnding(e: { code: number | null; signal: NodeJS.Signals | null }, stderr: string): string | undefined {
  if (e.signal) return `killed by ${e.signal}`;
  if (STACK.test(stderr)) return `a stack trace: ${stderr.trim().split('\n').slice(0, 2).join(' / ')}`;
  const lines = stderr.split('\n').filter((l) => l.trim());
  if (e.code === 0)
    return lines.length === 0 ? undefined : `exit 0 with stderr ${JSON.stringify(stderr.slice(0, 120))}`;
  if (e.code !== 1) return `exit ${e.code}`;
  if (lines.length !== 1 || !/^port-linker-agent: \S/.test(lines[0] ?? ''))
    return `exit 1 without one clear line: ${JSON.stringify(stderr.slice(0, 160))}`;
  return undefined;
}

/** Mutated frames one at a time, each followed by a Ping: served (Pong), ended (one line), or waiting (then EOF). */
async function mutatedFrames(script: string, count: number, seed: number) {
  const rnd = prng(seed);
  const seeds = sampleMessages().map(encodeMessage);
  const problems: string[] = [];
  const tally = { served: 0, ended: 0, waited: 0, sessions: 1 };
  let maxVerdictMs = 0;
  let maxRss = 0;
  let agent = new AgentUnderTest(script);
  await agent.ready();
  const restart = async () => {
    await agent.stop();
    agent = new AgentUnderTest(script);
    tally.sessions++;
    await agent.ready();
  };
  try {
    for (let k = 1; k <= count; k++) {
      const { bytes, kind } = mutateFrame(rnd, seeds, DEFAULT_MAX_FRAME_LENGTH);
      const value = BigInt(k);
      const from = agent.messages.length;
      const t0 = performance.now();
      agent.send(bytes);
      agent.send(encodeMessage({ type: 'Ping', value }));
      // a Pong takes a few ms; no Pong and no exit within 400 ms: it waits for the rest of an announced frame
      const answered = await agent.waitFor((m) => m.type === 'Pong' && m.value === value, 400, from);
      if (agent.badOutput) problems.push(`undecodable agent output after a ${kind} frame: ${agent.badOutput}`);
      if (answered) {
        tally.served++;
        maxVerdictMs = Math.max(maxVerdictMs, performance.now() - t0);
        maxRss = Math.max(maxRss, rssMb(agent.pid));
        continue;
      }
      if (agent.alive) {
        // a header announcing more than was sent: the agent waits for the rest; the end of its input must end it
        const eof = performance.now();
        agent.child.stdin?.end();
        const ended = await Promise.race([agent.exited, delay(3000).then(() => undefined)]);
        if (!ended) problems.push(`${kind} frame: neither an answer nor an exit within 3 s of EOF`);
        tally.waited++;
        maxVerdictMs = Math.max(maxVerdictMs, performance.now() - eof);
      } else {
        tally.ended++;
        maxVerdictMs = Math.max(maxVerdictMs, performance.now() - t0);
      }
      const how = agent.alive ? undefined : badEnding(await agent.exited, agent.stderr);
      if (how) problems.push(`${kind} frame ${Buffer.from(bytes.subarray(0, 12)).toString('hex')}...: ${how}`);
      await restart();
    }
  } finally {
    await agent.stop();
  }
  return { problems, tally, maxVerdictMs, maxRss };
}

/** Length prefixes: the bound and past it, and junk streamed into a frame announced at the bound. */
async function oversizedPrefixes(script: string): Promise<{ problems: string[]; note: string }> {
  const problems: string[] = [];
  const header = (length: number) => {
    const h = Buffer.alloc(5);
    h[0] = 0x01;
    h.writeUInt32BE(length, 1);
    return h;
  };
  // past the bound: refused at once, one line
  let agent = new AgentUnderTest(script);
  await agent.ready();
  const t0 = performance.now();
  agent.send(header(0xffffffff));
  const e = await Promise.race([agent.exited, delay(3000).then(() => undefined)]);
  const refusedMs = performance.now() - t0;
  if (!e) problems.push('a 4 GiB length prefix: still running after 3 s');
  else {
    const how = badEnding(e, agent.stderr);
    if (how) problems.push(`a 4 GiB length prefix: ${how}`);
    else if (e.code !== 1 || !/exceeds max/.test(agent.stderr)) problems.push(`a 4 GiB length prefix: exit ${e.code}`);
  }
  await agent.stop();
  // at the bound: nothing allocated for the announcement; what is sent is what is held; EOF ends it
  agent = new AgentUnderTest(script);
  await agent.ready();
  await agent.ping(1n);
  const base = rssMb(agent.pid);
  agent.send(header(DEFAULT_MAX_FRAME_LENGTH));
  await delay(300);
  const announced = rssMb(agent.pid) - base;
  if (announced > 8) problems.push(`a 16 MiB length prefix alone grew the agent by ${announced.toFixed(0)} MB`);
  const junk = randomBytes(64 * 1024);
  for (let sent = 0; sent < 8 * MiB; sent += junk.length) {
    await new Promise<void>((resolve) => {
      if (agent.child.stdin?.write(junk)) resolve();
      else agent.child.stdin?.once('drain', resolve);
    });
  }
  await delay(200);
  const held = rssMb(agent.pid) - base;
  if (held > 64) problems.push(`8 MiB into a 16 MiB frame grew the agent by ${held.toFixed(0)} MB`);
  agent.child.stdin?.end();
  const end = await Promise.race([agent.exited, delay(3000).then(() => undefined)]);
  if (!end) problems.push('EOF inside a 16 MiB frame: still running after 3 s');
  else {
    const how = badEnding(end, agent.stderr);
    if (how) problems.push(`EOF inside a 16 MiB frame: ${how}`);
  }
  await agent.stop();
  return {
    problems,
    note: `4 GiB prefix refused in ${refusedMs.toFixed(0)} ms; 16 MiB prefix +${announced.toFixed(0)} MB, +8 MiB junk +${held.toFixed(0)} MB`,
  };
}

/**
 * 20,000 frames of an unknown type with 2,000 Pings, then 20,000 ScanRequests in one write (120 KB): all skipped
 * or answered, memory and fds flat (a scan per request at once took the agent past 900 MB).
 */
async function flood(script: string): Promise<{ problems: string[]; note: string }> {
  const problems: string[] = [];
  const agent = new AgentUnderTest(script);
  try {
    await agent.ready();
    await agent.ping(1n);
    const rss0 = rssMb(agent.pid);
    const fds0 = fdCount(agent.pid);
    const unknown = Buffer.concat([Buffer.from([0x7e, 0, 0, 0, 100]), Buffer.alloc(100, 0x55)]);
    for (let i = 0; i < 2000; i++) {
      const ping = encodeMessage({ type: 'Ping', value: BigInt(10_000 + i) });
      agent.send(Buffer.concat([...Array.from({ length: 10 }, () => unknown), ping]));
      if (i % 200 === 199 && !(await agent.ping(BigInt(50_000 + i), 5000))) {
        problems.push(`no Pong in the flood after ${(i + 1) * 10} unknown frames`);
        break;
      }
    }
    const pongs = agent.messages.filter((m) => m.type === 'Pong').length;
    if (pongs < 2000) problems.push(`${pongs} Pongs for 2,000+ Pings`);
    let most = rssMb(agent.pid);
    const from = agent.messages.length;
    const scan = encodeMessage({ type: 'ScanRequest', tcp: true, udp: true });
    agent.send(Buffer.concat(Array.from({ length: 20_000 }, () => scan)));
    const sampler = setInterval(() => {
      most = Math.max(most, rssMb(agent.pid));
    }, 20);
    const answered = await agent.ping(2n, 10_000);
    const scanned = await agent.waitFor((m) => m.type === 'ScanResponse', 10_000, from);
    await delay(500);
    clearInterval(sampler);
    if (!answered) problems.push('no Pong within 10 s after 20,000 ScanRequests');
    if (!scanned) problems.push('no ScanResponse within 10 s after 20,000 ScanRequests');
    const grew = most - rss0;
    const fds = fdCount(agent.pid);
    if (grew > 60) problems.push(`the floods grew the agent by ${grew.toFixed(0)} MB`);
    if (fds > fds0) problems.push(`fds ${fds0} -> ${fds}`);
    const scans = agent.messages.slice(from).filter((m) => m.type === 'ScanResponse').length;
    return {
      problems,
      note: `floods (20,000 unknown frames, 20,000 ScanRequests -> ${scans} scans): RSS +${grew.toFixed(0)} MB, fds ${fds0} -> ${fds}`,
    };
  } finally {
    await agent.stop();
  }
}

/** Connects to 127.0.0.1:port, writes `bytes`; resolves with how long until the agent closed it (undefined: never). */
function closedAfter(port: number, bytes: Uint8Array, limitMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = connect({ port, host: '127.0.0.1' });
    s.on('error', () => {});
    s.on('data', () => {}); // anything but a close is kept reading
    const timer = setTimeout(() => {
      s.destroy();
      resolve(undefined);
    }, limitMs);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - t0);
    });
    s.on('connect', () => {
      if (bytes.byteLength > 0) s.write(bytes);
    });
  });
}

/** Garbage into the agent's tcp transport listener, unauthenticated and then authenticated: the stdio session lives on. */
async function tcpTransport(script: string): Promise<{ problems: string[]; note: string }> {
  const problems: string[] = [];
  const agent = new AgentUnderTest(script);
  try {
    await agent.ready();
    const offer = agent.messages.find((m) => m.type === 'TransportOffer');
    const tcp = offer?.type === 'TransportOffer' ? offer.entries.find((e) => e.kind === 'tcp') : undefined;
    if (tcp?.kind !== 'tcp') return { problems: ['the agent offered no tcp transport'], note: '' };
    // unauthenticated: 100 peers of junk past the secret's length, a short one, an idle one, a near miss
    const nearMiss = Buffer.from(tcp.secret);
    nearMiss[31] = (nearMiss[31] ?? 0) ^ 1;
    const junk = Array.from({ length: 100 }, () => closedAfter(tcp.port, randomBytes(64 + (tcp.port % 64)), 3000));
    const slow = [
      closedAfter(tcp.port, randomBytes(10), 8000),
      closedAfter(tcp.port, new Uint8Array(0), 8000),
      closedAfter(tcp.port, nearMiss, 3000),
    ];
    if (!(await agent.ping(7n))) problems.push('no Pong on stdio while junk peers were connected');
    const junkMs = await Promise.all(junk);
    const [shortMs, idleMs, nearMs] = await Promise.all(slow);
    const slowest = Math.max(...junkMs.map((x) => x ?? Infinity));
    if (slowest > 1000) problems.push(`a junk peer was dropped after ${slowest.toFixed(0)} ms`);
    if (nearMs === undefined || nearMs > 1000) problems.push('a wrong secret was not dropped within 1 s');
    for (const [what, ms] of [
      ['a peer that sent 10 bytes', shortMs],
      ['an idle peer', idleMs],
    ] as const)
      if (ms === undefined || ms > 7000) problems.push(`${what} was not dropped within 7 s (the auth timeout is 5 s)`);
    // authenticated, then garbage frames on it: the agent drops that transport and goes back to stdio
    agent.send(encodeMessage({ type: 'TransportAccept', kind: 'tcp', data: new Uint8Array(0) }));
    await delay(100);
    const s = connect({ port: tcp.port, host: '127.0.0.1' });
    s.on('error', () => {});
    let got = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
    });
    const closed = new Promise<number>((resolve) => s.on('close', () => resolve(performance.now())));
    await new Promise((r) => s.once('connect', r));
    s.write(tcp.secret);
    await until(async () => got.length >= 6, 'the accept frame on the tcp transport', 3000);
    const t0 = performance.now();
    s.write(Buffer.from([0x01, 0, 0, 0, 3, 1, 2, 3])); // a Ping of 3 bytes: a protocol error
    const at = await Promise.race([closed, delay(3000).then(() => undefined)]);
    if (at === undefined) problems.push('a protocol error on the tcp transport did not close it within 3 s');
    s.destroy();
    if (!(await agent.ping(8n, 3000))) problems.push('no Pong on stdio after the tcp transport was dropped');
    if (!agent.alive) problems.push(`the agent exited: ${agent.stderr.trim()}`);
    return {
      problems,
      note: `tcp junk dropped in <= ${slowest.toFixed(0)} ms, idle in ${(idleMs ?? 0).toFixed(0)} ms, a bad authenticated transport in ${at === undefined ? '-' : (at - t0).toFixed(0)} ms`,
    };
  } finally {
    await agent.stop();
  }
}

async function agentRuns(runs: number, ctx: FaultContext): Promise<RunResult[]> {
  const script = ensureAgentBundle();
  const count = ctx.quick ? 40 : 120;
  return repeat(runs, async (i) => {
    const m = await mutatedFrames(script, count, 3000 + i);
    const parts = [await oversizedPrefixes(script), await flood(script), await tcpTransport(script)];
    const problems = [...m.problems, ...parts.flatMap((p) => p.problems)];
    if (m.maxRss > 150) problems.push(`an agent reached ${m.maxRss.toFixed(0)} MB RSS`);
    const t = m.tally;
    return verdict(
      problems,
      `${count} mutated frames: ${t.served} answered, ${t.ended} ended the session with one line, ${t.waited} waited for the rest (ended by EOF); agent RSS <= ${m.maxRss.toFixed(0)} MB; ${parts.map((p) => p.note).join('; ')}`,
      m.maxVerdictMs,
    );
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The daemon, for rows 3-6

/** A state dir of its own (a fresh temp dir unless `home` is given) and the CLI environment that points at it. */
function daemonEnv(home: string): NodeJS.ProcessEnv {
  return { PORT_LINKER_HOME: home, PORT_LINKER_LOG: undefined, XDG_RUNTIME_DIR: undefined, PORT_LINKER_API: undefined };
}

interface Reply {
  status: number;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
  ms: number;
}

/** One API call over the control socket (or the loopback API with its token). */
function call(
  to: { socket: string } | { port: number; token: string },
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = {
      ...(text === undefined ? {} : { 'content-type': 'application/json' }),
      ...('token' in to ? { authorization: `Bearer ${to.token}` } : {}),
    };
    const req = request(
      { ...('socket' in to ? { socketPath: to.socket } : { host: '127.0.0.1', port: to.port }), method, path, headers },
      (res) => {
        let data = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          data += d;
        });
        res.on('end', () => {
          let parsed: Reply['body'] = {};
          try {
            parsed = data ? JSON.parse(data) : {};
          } catch {
            parsed = { raw: data };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, ms: performance.now() - t0 });
        });
      },
    );
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer to ${method} ${path} within ${timeoutMs} ms`)));
    req.end(text);
  });
}

/** Time until GET /v1/status answers 200 (the daemon serves a normal request). */
async function statusAnswers(socket: string, timeoutMs = 10_000): Promise<number> {
  return until(
    async () => (await call({ socket }, 'GET', '/v1/status', undefined, 2000)).status === 200,
    'GET /v1/status',
    timeoutMs,
  );
}

/** The daemon of `env`: started, with its pid and socket. */
async function startDaemon(env: NodeJS.ProcessEnv): Promise<{ pid: number; socket: string }> {
  const r = await runCli(['daemon', 'start'], env);
  if (r.code !== 0) throw new Error(`daemon start: ${r.stderr.trim()}`);
  const s = JSON.parse((await runCli(['daemon', 'status', '--json'], env)).stdout) as { pid: number; socket: string };
  return s;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The problem with a CLI run that must fail with one clear line, or undefined. */
function badFailure(r: CliResult, mustMatch: RegExp): string | undefined {
  if (r.code === 0) return 'exit 0';
  if (STACK.test(r.stderr)) return `a stack trace: ${r.stderr.trim().split('\n').slice(0, 2).join(' / ')}`;
  // besides the error: `up`'s progress line when it had to start the daemon
  const lines = r.stderr.split('\n').filter((l) => l.trim() && !/^starting the daemon \(state in /.test(l));
  if (lines.length !== 1) return `${lines.length} lines on stderr: ${JSON.stringify(r.stderr.slice(0, 200))}`;
  if (!mustMatch.test(lines[0] ?? '')) return `unclear: ${JSON.stringify((lines[0] ?? '').slice(0, 200))}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// 3. The control API

/** Sends raw bytes; resolves with what came back before the daemon closed the connection (or `ms` passed). */
function raw(
  to: { path: string } | { port: number; host: string },
  bytes: string | Buffer,
  ms = 5000,
): Promise<{ text: string; closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = connect(to);
    let text = '';
    let closed = false;
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      text += d;
    });
    s.on('error', () => {});
    const t = setTimeout(() => s.destroy(), ms);
    s.on('end', () => {
      closed = true;
    });
    s.on('close', () => {
      clearTimeout(t);
      resolve({ text, closed, ms: performance.now() - t0 });
    });
    s.write(bytes);
  });
}

/** Streams `size` bytes of body after a header block, until the daemon answers; what it said and when. */
async function bigUpload(
  to: { path: string } | { port: number; host: string },
  head: string,
  size: number,
  chunked: boolean,
): Promise<{ text: string; sent: number; ms: number }> {
  const t0 = performance.now();
  const s = connect(to);
  let text = '';
  let answeredAt = 0;
  let closed = false;
  let wake: () => void = () => {};
  s.setEncoding('latin1').on('data', (d: string) => {
    if (!text) answeredAt = performance.now();
    text += d;
    wake();
  });
  s.on('error', () => {});
  s.on('close', () => {
    closed = true;
    wake();
  });
  await new Promise((r) => s.once('connect', r));
  s.write(head);
  const piece = Buffer.alloc(64 * 1024, 0x20);
  const framed = chunked
    ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])
    : piece;
  let sent = 0;
  while (sent < size && !text && !closed && !s.destroyed) {
    // a write waits for the daemon to read it, which it stops doing once it has answered
    await new Promise<void>((r) => {
      wake = r;
      s.write(framed, () => r());
    });
    sent += piece.length;
  }
  for (let i = 0; i < 100 && !text && !closed; i++) await delay(20);
  s.destroy();
  return { text, sent, ms: (answeredAt || performance.now()) - t0 };
}

interface ApiTarget {
  name: string;
  /** The daemon's pid (its memory is watched). */
  pid: number;
  socket: { path: string } | { port: number; host: string };
  auth: string;
}

/** Every junk request of one run against one listener: [what, problem or undefined, ms to the answer]. */
async function junkRequests(t: ApiTarget): Promise<Array<[string, string | undefined, number]>> {
  const out: Array<[string, string | undefined, number]> = [];
  const head = (method: string, path: string, extra = '') =>
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${t.auth}${extra}`;
  const expect = async (what: string, bytes: string | Buffer, status: RegExp, code?: string) => {
    const r = await raw(t.socket, bytes, 5000);
    const line = r.text.split('\r\n')[0] ?? '';
    let problem: string | undefined;
    if (!status.test(line))
      problem = `${what}: ${JSON.stringify(line || (r.closed ? 'closed, no answer' : 'no answer in 5 s'))}`;
    else if (code && !r.text.includes(`"code":"${code}"`))
      problem = `${what}: no error code ${code} in ${JSON.stringify(r.text.slice(-160))}`;
    out.push([what, problem, r.ms]);
  };
  const json = (method: string, path: string, body: string | Buffer) =>
    Buffer.concat([
      Buffer.from(
        `${head(method, path, `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n`)}\r\n`,
      ),
      Buffer.from(body),
    ]);
  // hosts are changed over the socket only: the loopback API's bodies go to the registry
  const socket = t.name === 'socket';
  const bodyPath = socket ? '/v1/hosts' : '/v1/alloc';
  await expect('malformed JSON', json('POST', bodyPath, '{"target": '), /^HTTP\/1\.1 400/, 'bad_json');
  await expect('JSON of the wrong shape', json('POST', '/v1/alloc', '[1, 2, 3]'), /^HTTP\/1\.1 400/, 'bad_body');
  if (socket)
    await expect(
      'wrong types',
      json('POST', '/v1/hosts', '{"target": 5, "auto": "yes"}'),
      /^HTTP\/1\.1 400/,
      'bad_host',
    );
  else
    await expect(
      'wrong types',
      json('POST', '/v1/alloc', '{"service_name": 5, "ttl_seconds": "x"}'),
      /^HTTP\/1\.1 400/,
      'bad_service',
    );
  await expect('a null body', json('POST', '/v1/alloc', 'null'), /^HTTP\/1\.1 400/, 'bad_body');
  await expect(
    'JSON nested 100,000 deep',
    json('POST', bodyPath, `${'['.repeat(100_000)}${']'.repeat(100_000)}`),
    /^HTTP\/1\.1 400/,
  );
  const notUtf8 = Buffer.concat([
    Buffer.from('{"service_name": "a'),
    Buffer.from([0xff, 0xfe, 0xc0]),
    Buffer.from('"}'),
  ]);
  await expect('invalid UTF-8 in JSON', json('POST', '/v1/alloc', notUtf8), /^HTTP\/1\.1 400/);
  if (socket)
    await expect(
      'a malformed path escape',
      `${head('DELETE', '/v1/hosts/%E0%A4%A', 'Connection: close\r\n')}\r\n`,
      /^HTTP\/1\.1 400/,
      'bad_path',
    );
  await expect(
    'an unknown method',
    `${head('BREW', '/v1/status', 'Connection: close\r\n')}\r\n`,
    /^HTTP\/1\.1 (400|404|405)/,
  );
  await expect('binary junk', Buffer.concat([randomBytes(512), Buffer.from('\r\n\r\n')]), /^HTTP\/1\.1 400/);
  await expect('not HTTP', 'this is not http\r\n\r\n', /^HTTP\/1\.1 400/);
  await expect(
    '100 KB of headers',
    `${head('GET', '/v1/status', `X-Big: ${'a'.repeat(100_000)}\r\n`)}\r\n`,
    /^HTTP\/1\.1 431/,
  );
  await expect(
    'a negative Content-Length',
    `${head('POST', '/v1/alloc', 'Content-Length: -5\r\n')}\r\n`,
    /^HTTP\/1\.1 400/,
  );
  await expect(
    'two Content-Lengths',
    `${head('POST', '/v1/alloc', 'Content-Length: 5\r\nContent-Length: 7\r\n')}\r\n{}`,
    /^HTTP\/1\.1 400/,
  );
  // a truncated body from a client that then goes away: nothing to answer, the daemon must simply carry on
  const t0 = performance.now();
  const s = connect(t.socket);
  s.on('error', () => {});
  await new Promise((r) => s.once('connect', r));
  s.write(`${head('POST', bodyPath, 'Content-Type: application/json\r\nContent-Length: 1000\r\n')}\r\n{"target": "a`);
  await delay(50);
  s.destroy();
  out.push(['a truncated body, then gone', undefined, performance.now() - t0]);
  // 50 MB, with a length and chunked: 413 while the client is still sending, without holding what it sent
  for (const chunked of [false, true]) {
    const what = `a 50 MB body${chunked ? ' (chunked)' : ''}`;
    const h = head(
      'POST',
      bodyPath,
      `Content-Type: application/json\r\n${chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${50 * MiB}`}\r\n`,
    );
    const rss0 = rssMb(t.pid);
    const r = await bigUpload(t.socket, `${h}\r\n`, 50 * MiB, chunked);
    const grew = rssMb(t.pid) - rss0;
    const line = r.text.split('\r\n')[0] ?? '';
    out.push([
      what,
      !/^HTTP\/1\.1 413/.test(line)
        ? `${what}: ${JSON.stringify(line || 'no answer')}`
        : r.ms > 2000
          ? `${what}: answered after ${(r.ms / 1000).toFixed(1)} s`
          : grew > 30
            ? `${what}: the daemon grew by ${grew.toFixed(0)} MB`
            : undefined,
      r.ms,
    ]);
  }
  // 200 junk requests at once
  const many = await Promise.all(
    Array.from({ length: 200 }, () => raw(t.socket, json('POST', bodyPath, '{"oops'), 10_000)),
  );
  const bad = many.filter((r) => !/^HTTP\/1\.1 400/.test(r.text));
  out.push([
    '200 malformed requests at once',
    bad.length ? `${bad.length} of 200 concurrent bad requests got no 400` : undefined,
    Math.max(...many.map((r) => r.ms)),
  ]);
  return out;
}

async function apiRuns(runs: number): Promise<RunResult[]> {
  const home = mkdtempSync(join(tmpdir(), 'pl-faults-api-'));
  const port = await freePort();
  const env = { ...daemonEnv(home), PORT_LINKER_API: `127.0.0.1:${port}` };
  try {
    const { pid, socket } = await startDaemon(env);
    const token = readFileSync(join(home, 'api-token'), 'utf8').trim();
    const targets: ApiTarget[] = [
      { name: 'socket', pid, socket: { path: socket }, auth: '' },
      { name: 'loopback', pid, socket: { port, host: '127.0.0.1' }, auth: `Authorization: Bearer ${token}\r\n` },
    ];
    const logSize = statSync(join(home, 'daemon.log')).size;
    return await repeat(runs, async () => {
      const problems: string[] = [];
      let recoveryMs = 0;
      let slowestAnswer = 0;
      let count = 0;
      for (const t of targets) {
        for (const [what, problem, ms] of await junkRequests(t)) {
          if (DEBUG) process.stderr.write(`  ${t.name}: ${what}: ${ms.toFixed(0)} ms\n`);
          count++;
          if (problem) problems.push(`${t.name}: ${problem}`);
          slowestAnswer = Math.max(slowestAnswer, ms);
          // the next normal request right after each: answered, and how soon
          try {
            recoveryMs = Math.max(recoveryMs, await statusAnswers(socket, 5000));
          } catch {
            problems.push(`${t.name}: no GET /v1/status within 5 s after ${what}`);
          }
        }
        // the loopback API's own refusal, unauthenticated junk included
        const r = await raw(t.socket, 'POST /v1/alloc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\n{x}');
        if (t.name === 'loopback' && !/^HTTP\/1\.1 401/.test(r.text))
          problems.push('loopback: junk without a token was not refused 401');
      }
      const ok = await call({ socket }, 'POST', '/v1/alloc', { service_name: 'after-junk', ttl_seconds: 5 });
      if (ok.status !== 200) problems.push(`a normal alloc after the junk: ${ok.status}`);
      if (!alive(pid)) problems.push('the daemon died');
      const log = readFileSync(join(home, 'daemon.log'), 'utf8').slice(logSize);
      if (/failed: .*\n?\s+at |"level":"error"/.test(log))
        problems.push(
          `the daemon logged an error: ${log
            .split('\n')
            .find((l) => l.includes('"error"'))
            ?.slice(0, 200)}`,
        );
      return verdict(
        problems,
        `${count} bad requests on the socket and the loopback API: each a 4xx (or a close), slowest ${slowestAnswer.toFixed(0)} ms (50 MB bodies refused early)`,
        recoveryMs,
      );
    });
  } finally {
    await runCli(['daemon', 'stop'], env).catch(() => {});
    rmSync(home, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** The daemon's stated bounds: headers within 5 s, the whole request within 10 s (control-server.ts). */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Slow clients: one sending a request a byte a second, one a body a byte a second, one idle, and 1,000 half-open
 * connections sending a header byte every 2 s (slowloris); each must be cut off within the request timeout (+2 s),
 * and normal requests answered meanwhile (recoveryMs: the slowest of them).
 */
async function slowRuns(runs: number, ctx: FaultContext): Promise<RunResult[]> {
  const home = mkdtempSync(join(tmpdir(), 'pl-faults-slow-'));
  const env = daemonEnv(home);
  const limitMs = REQUEST_TIMEOUT_MS + 2000;
  // how long a run waits for the cut-offs before calling them missing (quick: just past the bound)
  const waitMs = ctx.quick ? limitMs + 1000 : 35_000;
  try {
    const { pid, socket } = await startDaemon(env);
    return await repeat(runs, async () => {
      const problems: string[] = [];
      const t0 = performance.now();
      const sockets: Socket[] = [];
      const closedAt = (s: Socket) =>
        new Promise<number | undefined>((resolve) => {
          const timer = setTimeout(() => resolve(undefined), waitMs);
          s.on('close', () => {
            clearTimeout(timer);
            resolve(performance.now() - t0);
          });
        });
      const open = (drip: (s: Socket, i: number) => void, first = '') => {
        const s = connect(socket);
        s.on('error', () => {});
        s.on('data', () => {});
        s.on('connect', () => {
          if (first) s.write(first);
          let i = 0;
          const t = setInterval(() => {
            if (s.destroyed) clearInterval(t);
            else drip(s, i++);
          }, 1000);
          s.once('close', () => clearInterval(t));
        });
        sockets.push(s);
        return closedAt(s);
      };
      const req = `GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(100)}\r\n\r\n`;
      const cases: Array<[string, Promise<number | undefined>]> = [
        ['a request a byte a second', open((s, i) => s.write(req[i % req.length] as string))],
        [
          'a body a byte a second',
          open((s) => s.write(' '), 'POST /v1/alloc HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n'),
        ],
        ['an idle connection', open(() => {})],
        [
          'a truncated body, the client waiting',
          open(() => {}, 'POST /v1/alloc HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"serv'),
        ],
      ];
      const loris: Array<Promise<number | undefined>> = [];
      for (let i = 0; i < 1000; i++)
        loris.push(open((s, k) => k % 2 === 0 && s.write('a'), 'GET /v1/status HTTP/1.1\r\nX-A: '));
      // normal requests while they are held
      let slowest = 0;
      const until2 = performance.now() + 4000;
      while (performance.now() < until2) {
        try {
          const r = await call({ socket }, 'GET', '/v1/status', undefined, 5000);
          if (r.status !== 200) problems.push(`GET /v1/status during the slow clients: ${r.status}`);
          slowest = Math.max(slowest, r.ms);
        } catch (err) {
          problems.push(`GET /v1/status during the slow clients: ${errText(err)}`);
          break;
        }
        await delay(200);
      }
      const results = await Promise.all(cases.map(([, p]) => p));
      const lorisMs = await Promise.all(loris);
      for (const s of sockets) s.destroy();
      cases.forEach(([what], i) => {
        const ms = results[i];
        if (ms === undefined) problems.push(`${what}: still open after ${(waitMs / 1000).toFixed(0)} s`);
        else if (ms > limitMs)
          problems.push(`${what}: cut off after ${(ms / 1000).toFixed(1)} s, not within ${limitMs / 1000} s`);
      });
      const lorisOpen = lorisMs.filter((x) => x === undefined).length;
      const lorisMax = Math.max(...lorisMs.map((x) => x ?? 0));
      if (lorisOpen > 0)
        problems.push(`${lorisOpen} of 1,000 slowloris connections still open after ${(waitMs / 1000).toFixed(0)} s`);
      else if (lorisMax > limitMs)
        problems.push(
          `slowloris connections cut off after up to ${(lorisMax / 1000).toFixed(1)} s, not within ${limitMs / 1000} s`,
        );
      const after = await statusAnswers(socket, 5000).catch(() => undefined);
      if (after === undefined) problems.push('no GET /v1/status after the slow clients');
      if (!alive(pid)) problems.push('the daemon died');
      const cut = results.filter((x) => x !== undefined) as number[];
      return verdict(
        problems,
        `4 slow clients + 1,000 slowloris connections cut off after ${(Math.max(...cut, lorisMax) / 1000).toFixed(1)} s; normal requests meanwhile <= ${slowest.toFixed(0)} ms`,
        slowest,
      );
    });
  } finally {
    await runCli(['daemon', 'stop'], env).catch(() => {});
    rmSync(home, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Rows 4-6 run a real host in the daemon

/** A harness host with echo services, a profiles file naming them, and a daemon state dir (maybe on a tmpfs). */
interface DaemonWithHost {
  host: RemoteHost;
  svcs: Service[];
  dir: string;
  home: string;
  env: NodeJS.ProcessEnv;
  file: string;
  socket: string;
  close(): Promise<void>;
}

type Ls = {
  daemon: { pid: number };
  hosts: Array<{ id: string; state: string; forwards: Array<{ localPort: number; spec: { remotePort: number } }> }>;
};

async function ls(env: NodeJS.ProcessEnv): Promise<Ls> {
  const r = await runCli(['ls', '--json'], env);
  if (r.code !== 0) throw new Error(`ls: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as Ls;
}

/** The local port of `profile`'s forward of `svc` (once it is there). */
async function localPort(env: NodeJS.ProcessEnv, profile: string, svc: Service): Promise<number> {
  let port: number | undefined;
  await until(
    async () => {
      port = (await ls(env)).hosts
        .find((h) => h.id === profile)
        ?.forwards.find((f) => f.spec.remotePort === svc.port)?.localPort;
      return port !== undefined;
    },
    `the forward of ${profile}`,
    30_000,
  );
  return port as number;
}

/** The profile lines of `name` for this host, mirroring one service's port. */
function profileText(host: RemoteHost, entries: Array<[string, Service]>): string {
  const lines = ['version: 1', 'profiles:'];
  for (const [name, svc] of entries)
    lines.push(
      `  ${name}:`,
      `    host: ${host.target}`,
      `    identity: ${host.clientKeyPath}`,
      `    options: { UserKnownHostsFile: ${host.knownHostsPath}, StrictHostKeyChecking: "yes" }`,
      `    ports: "${svc.port}"`,
      '    protocol: tcp',
    );
  return `${lines.join('\n')}\n`;
}

async function daemonWithHost(prefix: string, services: number, home?: string): Promise<DaemonWithHost> {
  const host = await RemoteHost.start({ quietShell: true });
  const svcs: Service[] = [];
  for (let i = 0; i < services; i++) svcs.push(await host.serve('tcp-echo', 0, '127.0.0.1'));
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const stateHome = home ?? join(dir, 'state');
  const env = daemonEnv(stateHome);
  const file = join(dir, 'port-linker.yml');
  writeFileSync(
    file,
    profileText(
      host,
      svcs.map((s, i) => [`box${i}`, s]),
    ),
  );
  return {
    host,
    svcs,
    dir,
    home: stateHome,
    env,
    file,
    socket: join(stateHome, 'daemon.sock'),
    close: async () => {
      await runCli(['daemon', 'stop'], env).catch(() => {});
      for (const s of svcs) await s.stop();
      await host.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function up(d: DaemonWithHost, names: string[], file = d.file): Promise<CliResult> {
  return runCli(['up', '-f', file, ...names, '--timeout', '30'], d.env);
}

// ---------------------------------------------------------------------------------------------------------------
// 4. Broken profiles files

/** Broken versions of a profiles file: [what, content (or a path to pass instead of a file)]. */
function brokenProfiles(
  good: string,
  huge: string,
  rnd: () => number,
): Array<[string, string | Buffer | { path: string }]> {
  const int = (n: number) => Math.floor(rnd() * n);
  const deep = (d: number) => `${'['.repeat(d)}${']'.repeat(d)}`;
  return [
    ['an unclosed flow map', good.replace('options: {', 'options: {{')],
    ['bad indentation', good.replace('    ports:', '   ports:')],
    ['wrong types', good.replace(/ports: "\d+"/, 'ports: true').replace('protocol: tcp', 'protocol: 5')],
    ['an unknown key', good.replace('protocol:', 'protcol:')],
    ['a duplicate key', good.replace('    protocol: tcp', '    protocol: tcp\n    protocol: udp')],
    ['a wrong version', good.replace('version: 1', 'version: "one"')],
    ['a tab as indentation', good.replace('    host:', '\thost:')],
    ['a list as a key', good.replace('  box0:', '  ? [box0, x]\n  :')],
    [
      'aliases nested a billion times',
      `a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n${good}`,
    ],
    ['lists nested 5,000 deep', good.replace(/ports: "\d+"/, `ports: ${deep(5000)}`)],
    ['4 KB of binary junk', randomBytes(4096)],
    ['NUL bytes', Buffer.alloc(2048)],
    ['UTF-16', Buffer.from(`\ufeff${good}`, 'utf16le')],
    ['the file cut in the middle of a line', good.slice(0, Math.floor(good.length / 2) + int(10))],
    ['an empty file', ''],
    ['a 50 MB file', huge],
    ['a file that never ends (/dev/zero)', { path: '/dev/zero' }],
  ];
}

/** The mutated profiles one run parses in-process: [ProfileErrors, accepted, problems]. */
function mutatedProfiles(
  good: string,
  count: number,
  rnd: () => number,
): { errors: number; accepted: number; problems: string[] } {
  const int = (n: number) => Math.floor(rnd() * n);
  const chars = Buffer.from(' :-[]{},"\'#&*!|>?%@`\n\t0123456789abcxyz<<~.');
  const base = Buffer.from(good);
  const dir = mkdtempSync(join(tmpdir(), 'pl-faults-yaml-fuzz-'));
  const file = join(dir, 'port-linker.yml');
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  const out = { errors: 0, accepted: 0, problems: [] as string[] };
  try {
    for (let i = 0; i < count; i++) {
      let b = Buffer.from(base);
      const kind = int(5);
      for (let k = 1 + int(4); k > 0; k--) {
        const at = int(b.length);
        if (kind === 0) b[at] = int(256);
        else if (kind === 1) b[at] = chars[int(chars.length)] as number;
        else if (kind === 2) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(20))]);
        else if (kind === 3)
          b = Buffer.concat([
            b.subarray(0, at),
            chars.subarray(int(chars.length), int(chars.length) + 3),
            b.subarray(at),
          ]);
        else b = b.subarray(0, at);
      }
      writeFileSync(file, b);
      try {
        loadProfiles(file, { home: '/root' });
        out.accepted++;
      } catch (err) {
        if (err instanceof ProfileError && !/\n/.test(err.message) && err.line !== undefined) out.errors++;
        else
          out.problems.push(
            `a mutated file gave ${err instanceof ProfileError ? `a ProfileError without a line: ${err.message}` : `${(err as Error).name}: ${errText(err)}`}`,
          );
      }
    }
  } finally {
    process.off('warning', onWarning);
    rmSync(dir, { recursive: true, force: true });
  }
  if (warnings.length > 0) out.problems.push(`process warnings (printed on stderr): ${warnings[0]?.slice(0, 100)}`);
  return out;
}

async function yamlRuns(runs: number, ctx: FaultContext): Promise<RunResult[]> {
  const d = await daemonWithHost('pl-faults-yaml-', 1);
  try {
    const first = await up(d, []);
    if (first.code !== 0) throw new Error(`up: ${first.stderr.trim()}`);
    const svc = d.svcs[0] as Service;
    const port = await localPort(d.env, 'box0', svc);
    const good = readFileSync(d.file, 'utf8');
    const { pid } = (await ls(d.env)).daemon;
    const profiles: string[] = [];
    for (let i = 0, n = 0; n < 50 * MiB; i++) {
      const p = `  p${i}:\n    host: h${i}\n    ports: "${3000 + (i % 1000)}"\n`;
      profiles.push(p);
      n += p.length;
    }
    const huge = `version: 1\nprofiles:\n${profiles.join('')}`;
    return await repeat(runs, async (i) => {
      const rnd = prng(4000 + i);
      const problems: string[] = [];
      let slowest = 0;
      const cases = brokenProfiles(good, huge, rnd);
      for (const [what, content] of cases) {
        // the running profile's own file turns bad (the realistic case): `up` of it must leave the daemon alone
        let file = d.file;
        if (typeof content === 'object' && 'path' in content) file = content.path;
        else writeFileSync(d.file, content);
        const t0 = performance.now();
        const r = await up(d, ['box0'], file);
        const ms = performance.now() - t0;
        slowest = Math.max(slowest, ms);
        const located = new RegExp(
          `^port-linker: error: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(:\\d+:\\d+)?: \\S`,
        );
        const problem = badFailure(r, located);
        if (problem) problems.push(`${what}: ${problem}`);
        else if (r.code !== 2) problems.push(`${what}: exit ${r.code}, not 2 (a bad file)`);
        else if (!/:\d+:\d+: /.test(r.stderr) && !/never ends|50 MB/.test(what))
          problems.push(`${what}: no line and column in ${JSON.stringify(r.stderr.trim().slice(0, 160))}`);
        if (ms > 10_000) problems.push(`${what}: up took ${(ms / 1000).toFixed(1)} s to fail`);
      }
      writeFileSync(d.file, good);
      const fuzz = mutatedProfiles(good, ctx.quick ? 500 : 2000, rnd);
      problems.push(...fuzz.problems.slice(0, 3));
      // the daemon kept its host: same daemon, connected, the forward answering on its port
      const now = await ls(d.env);
      const box = now.hosts.find((h) => h.id === 'box0');
      if (now.daemon.pid !== pid) problems.push('the daemon was restarted');
      if (box?.state !== 'connected') problems.push(`box0 is ${box?.state ?? 'gone'}`);
      if (!(await echoes(port).catch(() => false))) problems.push(`the forward on ${port} does not answer`);
      return verdict(
        problems,
        `${cases.length} broken files: \`up\` exit 2 with one line naming file:line:col (the file alone when over 1 MiB), slowest ${(slowest / 1000).toFixed(1)} s; ${fuzz.errors + fuzz.accepted} mutated files parsed in-process: ${fuzz.errors} one-line errors, ${fuzz.accepted} still valid; the daemon kept box0`,
      );
    });
  } finally {
    await d.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 5. A damaged or locked state database

/** Ways of damaging the database file (the daemon stopped): each rewrites part or all of it. */
const DAMAGE: Array<[string, (b: Buffer) => Buffer]> = [
  ['truncated to half', (b) => b.subarray(0, Math.floor(b.length / 2 / 512) * 512 + 100)],
  ['random bytes over the header', (b) => Buffer.concat([randomBytes(100), b.subarray(100)])],
  [
    'random bytes over the second page',
    (b) => Buffer.concat([b.subarray(0, 4096), randomBytes(4096), b.subarray(8192)]),
  ],
  ['random bytes over the last page', (b) => Buffer.concat([b.subarray(0, b.length - 4096), randomBytes(4096)])],
  ['all zeros', (b) => Buffer.alloc(b.length)],
  ['all random', (b) => randomBytes(b.length)],
];

/** Another process holding the database: `BEGIN EXCLUSIVE` (or exclusive locking mode) until it is told to let go. */
async function holdLock(db: string, mode: 'transaction' | 'locking-mode'): Promise<{ release: () => Promise<void> }> {
  const sql =
    mode === 'transaction'
      ? 'BEGIN EXCLUSIVE'
      : 'PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; UPDATE hosts SET added_at = added_at';
  const child = track(
    spawn(
      process.execPath,
      [
        '-e',
        `const { DatabaseSync } = require('node:sqlite'); const db = new DatabaseSync(process.argv[1]); db.exec('PRAGMA busy_timeout = 5000; ' + process.argv[2]); process.stdout.write('locked\\n'); process.stdin.on('end', () => { db.exec('COMMIT'); db.close(); process.exit(0); }).resume();`,
        db,
        sql,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    ),
  );
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d;
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', () => reject(new Error(`the lock holder exited: ${err.trim()}`)));
  });
  return {
    release: async () => {
      const gone = new Promise((r) => child.once('exit', r));
      child.stdin?.end();
      await Promise.race([gone, delay(3000)]);
      await stopChild(child, 'SIGKILL');
    },
  };
}

function logSince(home: string, offset: number): string {
  try {
    return readFileSync(join(home, 'daemon.log'), 'utf8').slice(offset);
  } catch {
    return '';
  }
}

const logSize = (home: string) => (existsSync(join(home, 'daemon.log')) ? statSync(join(home, 'daemon.log')).size : 0);

/** Damage one way (the daemon stopped), then `up`: it starts, says so, moves the file aside, the same local port. */
async function damagedRun(
  d: DaemonWithHost,
  port: number,
  kind: [string, (b: Buffer) => Buffer],
): Promise<{ problems: string[]; ms: number }> {
  const problems: string[] = [];
  const [what, damage] = kind;
  const db = join(d.home, 'state.db');
  const stop = await runCli(['daemon', 'stop'], d.env);
  if (stop.code !== 0) throw new Error(`daemon stop: ${stop.stderr.trim()}`);
  const ports = readFileSync(join(d.home, 'ports.json'), 'utf8');
  const offset = logSize(d.home);
  const firstLog = readFileSync(join(d.home, 'daemon.log'), 'utf8').split('\n')[0];
  writeFileSync(db, damage(readFileSync(db)));
  for (const f of [`${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  const t0 = performance.now();
  const r = await up(d, []);
  if (r.code !== 0) problems.push(`${what}: up exit ${r.code}: ${r.stderr.trim().split('\n').slice(-1)[0]}`);
  if (STACK.test(r.stderr)) problems.push(`${what}: a stack trace from up`);
  const ms = await until(async () => echoes(port), `${what}: the forward on ${port} again`, 30_000).then(
    () => performance.now() - t0,
    (err: unknown) => {
      problems.push(errText(err));
      return performance.now() - t0;
    },
  );
  const log = logSince(d.home, offset);
  const moved = /moved it to (\S+) and started a new one/.exec(log)?.[1];
  if (!/the state database \S+ was damaged \(/.test(log))
    problems.push(`${what}: the log does not say the database was damaged`);
  else if (!moved || !existsSync(moved))
    problems.push(`${what}: the damaged file is not where the log says (${moved})`);
  if (readFileSync(join(d.home, 'ports.json'), 'utf8') !== ports) {
    const before = JSON.parse(ports).ports as Record<string, number>;
    const after = JSON.parse(readFileSync(join(d.home, 'ports.json'), 'utf8')).ports as Record<string, number>;
    if (Object.entries(before).some(([k, v]) => after[k] !== v))
      problems.push(`${what}: ports.json lost or changed entries`);
  }
  if (readFileSync(join(d.home, 'daemon.log'), 'utf8').split('\n')[0] !== firstLog)
    problems.push(`${what}: the log lost its old lines`);
  for (const f of readdirSync(d.home)) if (f.startsWith('state.db.corrupt-')) rmSync(join(d.home, f), { force: true });
  return { problems, ms };
}

/** A lock while the daemon runs (BEGIN EXCLUSIVE in another process, a lease expiring meanwhile). */
async function lockedWhileRunning(
  d: DaemonWithHost,
  port: number,
): Promise<{ problems: string[]; ms: number; note: string }> {
  const problems: string[] = [];
  const { pid } = (await ls(d.env)).daemon;
  await call({ socket: d.socket }, 'POST', '/v1/alloc', { service_name: 'expiring', ttl_seconds: 1 });
  const offset = logSize(d.home);
  const lock = await holdLock(join(d.home, 'state.db'), 'transaction');
  let slowest = 0;
  try {
    const end = performance.now() + 3500; // the lease expires meanwhile: the sweep wants to write
    while (performance.now() < end) {
      const s = await call({ socket: d.socket }, 'GET', '/v1/status', undefined, 3000).catch(() => undefined);
      if (s?.status !== 200) problems.push('GET /v1/status failed while the database was locked');
      slowest = Math.max(slowest, s?.ms ?? 3000);
      if (!(await echoes(port).catch(() => false)))
        problems.push(`the forward on ${port} stopped answering during the lock`);
      await delay(250);
    }
    const a = await call({ socket: d.socket }, 'POST', '/v1/alloc', { service_name: 'during-lock' });
    slowest = Math.max(slowest, a.ms);
    if (
      a.status !== 503 ||
      a.body.error?.code !== 'state_locked' ||
      !/locked by another process/.test(a.body.error.message)
    )
      problems.push(`alloc during the lock: ${a.status} ${JSON.stringify(a.body).slice(0, 160)}`);
    const same = await up(d, []);
    if (same.code !== 0)
      problems.push(`up (nothing to change) during the lock: exit ${same.code}: ${same.stderr.trim()}`);
    const list = await call({ socket: d.socket }, 'GET', '/v1/list');
    if (list.status !== 200) problems.push(`GET /v1/list during the lock: ${list.status}`);
  } finally {
    await lock.release();
  }
  const ms = await waitedMs(
    problems,
    async () => (await call({ socket: d.socket }, 'POST', '/v1/alloc', { service_name: 'after-lock' })).status === 200,
    'an alloc after the lock',
  );
  await call({ socket: d.socket }, 'POST', '/v1/release', { service_name: 'after-lock' }).catch(() => undefined);
  if ((await ls(d.env)).daemon.pid !== pid || !alive(pid)) problems.push('the daemon did not survive the lock');
  const log = logSince(d.home, offset);
  if (!/is locked by another process/.test(log)) problems.push('the log does not say the database is locked');
  if (!/saves again/.test(log)) problems.push('the log does not say the database saves again');
  return { problems, ms, note: `API <= ${slowest.toFixed(0)} ms during the lock` };
}

/** Locked at start: with BEGIN EXCLUSIVE the daemon starts (reads go on); in exclusive locking mode it says so. */
async function lockedAtStart(d: DaemonWithHost, port: number): Promise<{ problems: string[] }> {
  const problems: string[] = [];
  const db = join(d.home, 'state.db');
  await runCli(['daemon', 'stop'], d.env);
  let lock = await holdLock(db, 'transaction');
  try {
    const r = await up(d, []);
    if (r.code !== 0)
      problems.push(`up with the database in another's transaction: exit ${r.code}: ${r.stderr.trim()}`);
    else if (!(await until(async () => echoes(port), 'the forward', 20_000).catch(() => false)))
      problems.push('the host was not restored while the database was locked');
  } finally {
    await lock.release();
  }
  await runCli(['daemon', 'stop'], d.env);
  lock = await holdLock(db, 'locking-mode');
  try {
    const t0 = performance.now();
    const r = await up(d, []);
    const ms = performance.now() - t0;
    const problem = badFailure(r, /is locked by another process .*state\.db|state\.db is locked by another process/);
    if (problem) problems.push(`up with the database exclusively locked: ${problem}`);
    if (ms > 20_000) problems.push(`up took ${(ms / 1000).toFixed(0)} s to fail on a locked database`);
  } finally {
    await lock.release();
  }
  const again = await up(d, []);
  if (again.code !== 0) problems.push(`up once the lock was gone: exit ${again.code}: ${again.stderr.trim()}`);
  return { problems };
}

async function stateDbRuns(runs: number): Promise<RunResult[]> {
  const d = await daemonWithHost('pl-faults-db-', 1);
  try {
    const first = await up(d, []);
    if (first.code !== 0) throw new Error(`up: ${first.stderr.trim()}`);
    const port = await localPort(d.env, 'box0', d.svcs[0] as Service);
    return await repeat(runs, async (i) => {
      const kind = DAMAGE[i % DAMAGE.length] as [string, (b: Buffer) => Buffer];
      const damaged = await damagedRun(d, port, kind);
      const locked = await lockedWhileRunning(d, port);
      const atStart = i % 2 === 0 ? await lockedAtStart(d, port) : { problems: [] };
      const problems = [...damaged.problems, ...locked.problems, ...atStart.problems];
      return verdict(
        problems,
        `${kind[0]}: up restored box0 on its port in ${damaged.ms.toFixed(0)} ms, the file moved aside; locked: status and forwards served, alloc 503 state_locked (${locked.note}), saved again ${locked.ms.toFixed(0)} ms after the lock${i % 2 === 0 ? '; locked at start: started (transaction) / one line (locking mode)' : ''}`,
        Math.max(damaged.ms, locked.ms),
      );
    });
  } finally {
    await d.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 6. A full disk under the state dir

/** Fills the filesystem of `dir` with one file until ENOSPC; returns its path. */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'a');
  const block = Buffer.alloc(64 * 1024, 0x66);
  try {
    for (let b = block; b.length > 0; ) {
      try {
        writeSync(fd, b);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        if (b.length === 1) break;
        b = b.subarray(0, Math.floor(b.length / 2)); // the last few blocks, down to a byte
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

/** A 2 MB tmpfs for a state dir (root), unmounted at the end of the run or of the suite. */
async function smallDisk(): Promise<{ mountPoint: string; unmount(): Promise<void> }> {
  if (process.getuid?.() !== 0) throw new Error('needs root (a tmpfs is mounted)');
  const mountPoint = mkdtempSync(join(tmpdir(), 'pl-faults-full-'));
  await run(['mount', '-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', mountPoint]).catch((err: unknown) => {
    rmSync(mountPoint, { recursive: true, force: true });
    throw err;
  });
  let mounted = true;
  const unmount = async () => {
    if (!mounted) return;
    mounted = false;
    await run(['umount', '-l', mountPoint], { allowFail: true });
    rmSync(mountPoint, { recursive: true, force: true });
  };
  onCleanup(unmount);
  return { mountPoint, unmount };
}

async function diskFullRuns(runs: number): Promise<RunResult[]> {
  const { mountPoint, unmount } = await smallDisk();
  const d = await daemonWithHost('pl-faults-full-', 2, mountPoint);
  try {
    const first = await up(d, ['box0']);
    if (first.code !== 0) throw new Error(`up: ${first.stderr.trim()}`);
    const port = await localPort(d.env, 'box0', d.svcs[0] as Service);
    const { pid } = (await ls(d.env)).daemon;
    return await repeat(runs, async () => {
      const problems: string[] = [];
      await call({ socket: d.socket }, 'POST', '/v1/alloc', { service_name: 'expiring', ttl_seconds: 1 });
      const filler = fill(mountPoint);
      const free = () => existsSync(filler) && unlinkSync(filler);
      try {
        // SQLite may still have room in its WAL for a few writes: until one needs the disk
        let a: Reply | undefined;
        for (let k = 0; k < 50 && (!a || a.status === 200); k++)
          a = await call({ socket: d.socket }, 'POST', '/v1/alloc', { service_name: 'on-full-disk', ttl_seconds: 60 });
        if (a?.status !== 507 || a.body.error?.code !== 'disk_full' || !/disk is full/.test(a.body.error.message))
          problems.push(`alloc on a full disk: ${a?.status} ${JSON.stringify(a?.body).slice(0, 160)}`);
        const added = await up(d, ['box1']);
        const problem = badFailure(added, /disk is full/);
        if (problem) problems.push(`up of a new profile on a full disk: ${problem}`);
        const same = await up(d, ['box0']);
        if (same.code !== 0)
          problems.push(`up of the running profile (nothing to save): exit ${same.code}: ${same.stderr.trim()}`);
        const end = performance.now() + 3000; // the expired lease makes the sweep write meanwhile
        while (performance.now() < end) {
          if (!(await echoes(port).catch(() => false)))
            problems.push(`the forward on ${port} stopped answering on the full disk`);
          if (
            (await call({ socket: d.socket }, 'GET', '/v1/status', undefined, 3000).catch(() => undefined))?.status !==
            200
          )
            problems.push('GET /v1/status failed on the full disk');
          await delay(300);
        }
        const hosts = (await ls(d.env)).hosts.map((h) => h.id);
        if (hosts.includes('box1')) problems.push('box1 runs although it could not be saved');
        if (!alive(pid)) problems.push('the daemon died on the full disk');
      } finally {
        free();
      }
      const ms = await waitedMs(
        problems,
        async () =>
          (await call({ socket: d.socket }, 'POST', '/v1/alloc', { service_name: 'after-full' })).status === 200,
        'an alloc once space was freed',
      );
      const again = await up(d, ['box1']);
      if (again.code !== 0)
        problems.push(`up of box1 once space was freed: exit ${again.code}: ${again.stderr.trim()}`);
      // saved: what the database holds now (read beside the daemon; WAL lets it)
      const db = new DatabaseSync(join(d.home, 'state.db'), { readOnly: true });
      const saved = (db.prepare('SELECT id FROM hosts ORDER BY id').all() as Array<{ id: string }>).map((r) => r.id);
      db.close();
      if (saved.join() !== 'box0,box1')
        problems.push(`the database holds ${saved.join(', ') || 'nothing'} after the disk was freed`);
      const log = readFileSync(join(d.home, 'daemon.log'), 'utf8');
      if (!/saves again/.test(log.slice(-4000))) problems.push('the log does not say the database saves again');
      const down = await runCli(['down', 'box1'], d.env);
      if (down.code !== 0) problems.push(`down box1: ${down.stderr.trim()}`);
      for (const service_name of ['after-full', 'on-full-disk'])
        await call({ socket: d.socket }, 'POST', '/v1/release', { service_name }).catch(() => undefined);
      if (!alive(pid)) problems.push('the daemon died');
      return verdict(
        problems,
        'forwards and status served on the full disk, alloc 507 disk_full, up of a new profile one line; saved again once freed',
        ms,
      );
    });
  } finally {
    await d.close();
    await unmount();
  }
}

/**
 * The daemon started on a full disk (stopped, the disk filled, then `up` and `daemon run`): refused with one line
 * that says the disk is full and what to do (not a crash, not an empty daemon.out, no lock left behind); once space
 * is freed `up` starts it and the saved host is back on its local port (the recovery time).
 */
async function diskFullStartRuns(runs: number): Promise<RunResult[]> {
  const { mountPoint, unmount } = await smallDisk();
  const d = await daemonWithHost('pl-faults-full-start-', 2, mountPoint);
  try {
    const first = await up(d, ['box0']);
    if (first.code !== 0) throw new Error(`up: ${first.stderr.trim()}`);
    const port = await localPort(d.env, 'box0', d.svcs[0] as Service);
    return await repeat(runs, async () => {
      const problems: string[] = [];
      const stop = await runCli(['daemon', 'stop'], d.env);
      if (stop.code !== 0) throw new Error(`daemon stop: ${stop.stderr.trim()}`);
      const filler = fill(mountPoint);
      try {
        const full = /disk of its state dir .* is full .*free some space there/;
        const started = await up(d, ['box0']);
        const problem = badFailure(started, full);
        if (problem) problems.push(`up on a full disk: ${problem}`);
        const foreground = await runCli(['daemon', 'run'], d.env);
        const fgProblem = badFailure(foreground, full);
        if (fgProblem) problems.push(`daemon run on a full disk: ${fgProblem}`);
        if (existsSync(join(d.home, 'daemon.pid'))) problems.push('a daemon.pid was left behind');
      } finally {
        unlinkSync(filler);
      }
      const t0 = performance.now();
      const again = await up(d, ['box0']);
      if (again.code !== 0) problems.push(`up once space was freed: exit ${again.code}: ${again.stderr.trim()}`);
      const now = again.code === 0 ? await localPort(d.env, 'box0', d.svcs[0] as Service) : undefined;
      if (now !== undefined && now !== port) problems.push(`box0 came back on ${now}, not on its port ${port}`);
      if (now !== undefined)
        await until(() => echoes(now), `the forward on ${now}`, 10_000).catch(() => {
          problems.push(`the forward on ${now} does not answer`);
        });
      return verdict(
        problems,
        'up and daemon run on the full disk: one line "the disk of its state dir ... is full ... free some space"; once freed, up restores box0 on its port',
        performance.now() - t0,
      );
    });
  } finally {
    await d.close();
    await unmount();
  }
}

export const INPUT_FAULTS: FaultRow[] = [
  {
    id: 'input-decoder',
    label:
      '10^6 mutated frames (quick: 10^5) into the frame decoder and as many into the mux parser: bit flips, truncation, lengths out of range, random types; only ProtocolError, memory bounded',
    runs: 3,
    quickRuns: 1,
    measure: decoderRuns,
  },
  {
    id: 'input-agent',
    label:
      'mutated frames, 4 GiB and 16 MiB length prefixes, floods (20,000 ScanRequests) into a live agent, junk into its tcp transport: it answers or ends with one line, no stack, no hang (recovery: slowest answer or exit)',
    runs: 3,
    quickRuns: 1,
    measure: agentRuns,
  },
  {
    id: 'input-api',
    label:
      'control API (socket and loopback): malformed JSON, wrong types, truncated and 50 MB bodies, junk: each a 4xx, the next request answered (recovery)',
    runs: 3,
    quickRuns: 1,
    measure: (runs) => apiRuns(runs),
  },
  {
    id: 'input-api-slow',
    label:
      'control API slow clients: a byte a second, idle, 1,000 slowloris connections: cut off within the 10 s request timeout, other requests served meanwhile (recovery: slowest)',
    runs: 2,
    quickRuns: 1,
    measure: slowRuns,
  },
  {
    id: 'input-yaml',
    label:
      'broken profiles file (syntax, types, 50 MB, binary junk, ...): `up` fails with one line naming file:line, no stack; the running daemon keeps its host',
    runs: 3,
    quickRuns: 1,
    measure: yamlRuns,
  },
  {
    id: 'input-state-db',
    label:
      'state database damaged (truncated, random bytes) or locked by another process: the daemon starts, says so, moves a damaged file aside, keeps serving (recovery: forward back / saving again)',
    runs: 6,
    quickRuns: 1,
    measure: (runs) => stateDbRuns(runs),
  },
  {
    id: 'input-disk-full',
    label:
      'full disk in the state dir (2 MB tmpfs): forwards keep working, saves answer 507 disk_full, saved again once space is freed (recovery)',
    runs: 3,
    quickRuns: 1,
    measure: (runs) => diskFullRuns(runs),
  },
  {
    id: 'input-disk-full-start',
    label:
      'the daemon started on a full disk (2 MB tmpfs): refused with one line saying so (up, daemon run); once space is freed up restores the saved host on its port (recovery)',
    runs: 3,
    quickRuns: 1,
    measure: (runs) => diskFullStartRuns(runs),
  },
];
