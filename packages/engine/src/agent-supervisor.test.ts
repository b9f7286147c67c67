import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { EventEmitter, once } from 'node:events';
import { createServer } from 'node:net';
import { type TestContext, test } from 'node:test';
import type { AgentLink, AgentMode, deployAgent, startAgent } from '@port-linker/deploy';
import { type ForwardAddedEvent, ForwardManager, PortFilter } from '@port-linker/forward';
import type { AgentInfo, ListeningSocket, Message, MessageOf } from '@port-linker/proto';
import type { ResolvedHost, SshConnection } from '@port-linker/ssh';
import { AgentSupervisor } from './agent-supervisor.ts';
import type { EventFields, EventName } from './events.ts';
import { ForwardSync } from './forward-sync.ts';
import type { HostOptions } from './host-options.ts';
import type { Level } from './session-deps.ts';

/** An agent link that records what it is sent; `die()` and `close()` end it like a real one (one `exit`). */
class FakeLink extends EventEmitter implements AgentLink {
  readonly info: AgentInfo;
  readonly mode: AgentMode;
  readonly ownPorts: readonly number[];
  readonly congested = false;
  readonly sent: Message[] = [];
  /** How it answers a Ping: with its value, with another one, or not at all. */
  pong: 'echo' | 'stale' | 'silent' = 'echo';
  closed = false;
  #ended = false;
  readonly #changed: () => void;

  constructor(mode: AgentMode, pid: number, ownPorts: number[], changed: () => void) {
    super();
    this.mode = mode;
    this.ownPorts = ownPorts;
    this.#changed = changed;
    const capabilities = mode === 'none' ? ['watch'] : ['watch', 'udp'];
    this.info = { version: 'test', platform: 'linux', arch: 'x64', pid, scanner: 'procfs', capabilities };
  }
  send(message: Message): void {
    this.sent.push(message);
    if (message.type === 'Ping' && this.pong !== 'silent') {
      const value = this.pong === 'echo' ? message.value : message.value - 1n;
      queueMicrotask(() => this.emit('message', { type: 'Pong', value }));
    }
    this.#changed();
  }
  async close(): Promise<void> {
    this.closed = true;
    this.die('closed by the host');
  }
  die(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.emit('exit', reason);
  }
  /** Pushes a message from the agent. */
  push(m: Message): void {
    this.emit('message', m);
  }
  sentOf<T extends Message['type']>(type: T): Array<MessageOf<T>> {
    return this.sent.filter((m): m is MessageOf<T> => m.type === type);
  }
}

const OPTIONS: HostOptions = {
  auto: true,
  protocol: 'tcp',
  transport: 'stdio',
  agent: 'auto',
  conflict: 'remap',
  localForwards: [],
  defaultExcludes: true,
  logLevel: 'info',
};
const HOST = { user: 'dev', hostname: 'box', port: 22, localForwards: [], alias: 'box' } as unknown as ResolvedHost;
/** The connection: `alive` is what its link check answers (agent deaths over a dead link do not count). */
const CONN = {
  alive: true,
  remoteAddress: undefined,
  forwardOut: () => Promise.reject(new Error('no channels')),
  checkAlive: async () => CONN.alive,
};
const sock = (protocol: 'tcp' | 'udp', port: number): ListeningSocket => ({
  protocol,
  port,
  address: '0.0.0.0',
  process: 'svc',
});

/** Asserts a log line (an explicit message: assert.ok's own one can hang when it reads a tsx-loaded source). */
function logged(logs: string[], line: string): void {
  assert.ok(logs.includes(line), `not logged: ${line}\nlogged:\n${logs.join('\n')}`);
}

/** Each test is bounded: a missed event fails it instead of hanging the run. */
const T = { timeout: 5000 };

/** A local port free a moment ago (the mirrored forward wants the remote's port number locally). */
async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as { port: number };
  s.close();
  await once(s, 'close');
  return port;
}

/**
 * A supervisor over a real ForwardSync and ForwardManager, with fake deploy/start steps. `failDeploy` makes deploy
 * reject for the listed modes; `ownPorts` are the ports each started link says it listens on. Torn down after the
 * test `t` even when it fails (no listener or supervise() left to keep the run alive).
 */
function harness(
  t: TestContext,
  options: Partial<HostOptions> = {},
  fake: { failDeploy?: string[]; ownPorts?: number[] } = {},
) {
  const cfg = { ...OPTIONS, ...options };
  const bus = new EventEmitter();
  const changed = () => bus.emit('change');
  const logs: string[] = [];
  const events: Array<{ event: EventName } & Record<string, unknown>> = [];
  const note = (level: Level, message: string) => {
    logs.push(`${level}: ${message}`);
    changed();
  };
  const log = {
    log: note,
    warn: (m: string) => note('warn', m),
    info: (m: string) => note('info', m),
    error: (m: string) => note('error', m),
  };
  const manager = new ForwardManager({ conflict: 'remap' });
  const filter = PortFilter.fromOptions({ defaultExcludes: true });
  const emit = <K extends EventName>(event: K, fields: EventFields[K]) => {
    events.push({ event, ...fields });
    changed();
  };
  const agents: string[] = [];
  const deps = { log, emit, manager, filter, view: { setStatus() {}, setAgent: (t: string) => void agents.push(t) } };
  const sync = new ForwardSync(cfg, HOST, deps);
  const modes: string[] = [];
  const links: FakeLink[] = [];
  const deploy: typeof deployAgent = async (_session, o) => {
    modes.push(o.mode);
    if (fake.failDeploy?.includes(o.mode)) throw new Error(`cannot deploy ${o.mode}`);
    const mode: AgentMode = o.mode === 'none' ? 'none' : 'node';
    return { mode, platform: 'linux-x64', bytesUploaded: 0, ...(mode === 'none' ? { reason: 'asked' } : {}) };
  };
  const start: typeof startAgent = async (_session, deployed) => {
    const link = new FakeLink(deployed.mode, 100 + links.length, fake.ownPorts ?? [], changed);
    links.push(link);
    changed();
    return link;
  };
  const sup = new AgentSupervisor(cfg, HOST, deps, sync, { deploy, start });
  let endConn: (reason: string) => void = () => {};
  const closed = new Promise<string>((resolve) => {
    endConn = resolve;
  });
  const stop = new AbortController();
  const runs: Array<Promise<void>> = [];
  const running = () => {
    const run = sup.supervise(CONN as unknown as SshConnection, closed, stop.signal);
    runs.push(run);
    return run;
  };
  /** Resolves once `pred` holds (checked on every log line, event, start and message sent). */
  const until = (pred: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!pred()) return;
        bus.off('change', check);
        resolve();
      };
      bus.on('change', check);
      check();
    });
  /** The n-th link (1-based), once the supervisor listens to it (it sends WatchRequest last). */
  const started = async (n: number): Promise<FakeLink> => {
    await until(() => (links[n - 1]?.sentOf('WatchRequest').length ?? 0) > 0);
    return links[n - 1] as FakeLink;
  };
  /** Ends the connection and waits for supervise() to return; closes the manager. */
  const finish = async () => {
    endConn('test over');
    stop.abort();
    await Promise.all(runs);
    await manager.close();
  };
  t.after(finish);
  return { sup, manager, logs, events, agents, modes, links, running, until, started, finish, end: endConn };
}

test('a ScanDelta from the agent creates a forward; the agent’s own ports are not mirrored', T, async (t) => {
  const [port, own] = [await freePort(), await freePort()];
  const h = harness(t, {}, { ownPorts: [own] });
  h.running();
  const link = await h.started(1);
  assert.deepEqual(link.sentOf('WatchRequest'), [{ type: 'WatchRequest', tcp: true, udp: false, intervalMs: 150 }]);
  assert.deepEqual(
    h.events.map((e) => [e.event, e.mode, e.transport, e.pid]),
    [['agent', 'node', 'stdio', 100]],
  );
  assert.deepEqual(h.agents, ['node/stdio']);
  const added = once(h.manager, 'forward_added') as Promise<[ForwardAddedEvent]>;
  link.push({ type: 'ScanDelta', full: true, added: [sock('tcp', own), sock('tcp', port)], removed: [] });
  const [e] = await added;
  assert.deepEqual([e.protocol, e.remote_port, e.remote_addr, e.origin], ['tcp', port, '127.0.0.1', 'auto']);
  assert.deepEqual(
    h.manager.list().map((f) => f.spec.key),
    [`auto/tcp/${port}`],
  );
  const removed = once(h.manager, 'forward_removed');
  link.push({ type: 'ScanDelta', full: false, added: [], removed: [sock('tcp', port)] });
  await removed;
  assert.equal(h.manager.list().length, 0);
  // the agent's info lines are debug detail for the user
  link.emit('log', { level: 'info', target: 'agent.watch', message: 'watch started' });
  logged(h.logs, 'debug: watch started');
  await h.finish();
});

test('a dying agent is restarted; after three deaths in a minute it goes agentless', T, async (t) => {
  const h = harness(t);
  h.running();
  for (let n = 1; n <= 3; n++) {
    const link = await h.started(n);
    assert.equal(link.mode, 'node');
    link.die(`agent exited (code ${n})`);
  }
  const last = await h.started(4);
  assert.deepEqual(h.modes, ['auto', 'auto', 'auto', 'none']);
  assert.equal(last.mode, 'none');
  assert.deepEqual(
    h.logs.filter((l) => l.startsWith('warn:')),
    [
      'warn: agent exited (agent exited (code 1)); restarting it',
      'warn: agent exited (agent exited (code 2)); restarting it',
      'warn: agent exited (agent exited (code 3)); restarting it',
      'warn: agent keeps dying; switching to agentless scanning',
    ],
  );
  assert.deepEqual(
    h.events.map((e) => `${e.event} ${e.mode} ${e.pid}`),
    ['agent node 100', 'agent node 101', 'agent node 102', 'agent none 103'],
  );
  assert.equal(h.events[3]?.reason, 'the agent died 3 times in a minute over a live link', 'not "asked for"');
  assert.ok(
    h.links.slice(0, 3).every((l) => !l.closed),
    'a dead link is not closed again',
  );
  // the connection closing ends the supervision: no fifth start
  await h.finish();
  assert.equal(h.links.length, 4);
  assert.equal(await h.sup.ping(20), undefined, 'no agent after the connection closed');
});

test(
  'agent deaths while the link is dead (the agent left with the host silent) do not make it agentless',
  T,
  async (t) => {
    const h = harness(t);
    CONN.alive = false;
    t.after(() => {
      CONN.alive = true;
    });
    h.running();
    for (let n = 1; n <= 4; n++) (await h.started(n)).die('agent exited (silence)');
    await h.started(5);
    assert.deepEqual(h.modes, ['auto', 'auto', 'auto', 'auto', 'auto']);
    assert.ok(!h.logs.some((l) => l.includes('keeps dying')), 'no agentless fallback');
    await h.finish();
  },
);

test('deaths more than a minute apart are not "keeps dying": the agent stays in its mode', T, async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 0 });
  const h = harness(t);
  h.running();
  for (let n = 1; n <= 4; n++) {
    const link = await h.started(n);
    t.mock.timers.tick(30_001); // two deaths in any minute, never three
    link.die('agent exited (code 1)');
  }
  await h.started(5);
  assert.deepEqual(h.modes, ['auto', 'auto', 'auto', 'auto', 'auto']);
  assert.ok(!h.logs.some((l) => l.includes('keeps dying')), 'no agentless fallback');
  await h.finish();
});

test('an undeployable agent falls back to agentless; when that fails too, an error event', T, async (t) => {
  const h = harness(t, {}, { failDeploy: ['auto'] });
  h.running();
  const link = await h.started(1);
  assert.deepEqual(h.modes, ['auto', 'none']);
  assert.equal(link.mode, 'none');
  logged(h.logs, 'warn: agent could not start (cannot deploy auto); falling back to agentless scanning');
  await h.finish();

  const both = harness(t, {}, { failDeploy: ['auto', 'none'] });
  await both.running(); // returns by itself: nothing left to try
  assert.deepEqual(both.modes, ['auto', 'none']);
  assert.equal(both.links.length, 0);
  assert.deepEqual(
    both.events.map((e) => [e.event, e.message]),
    [['error', 'cannot deploy none']],
  );
  logged(both.logs, 'error: agentless scanning failed too: cannot deploy none; only explicit forwards work');
});

test('ping: undefined without agent, true on its Pong, false on silence (closed, restarted)', T, async (t) => {
  const h = harness(t);
  assert.equal(await h.sup.ping(20), undefined);
  h.running();
  const first = await h.started(1);
  assert.equal(await h.sup.ping(1000), true);
  const [ping] = first.sentOf('Ping');
  assert.ok(ping && ping.value >= 1n << 62n, 'a value apart from the link’s own pings');
  assert.equal(first.listenerCount('message'), 1, 'the Pong listener is removed');
  assert.equal(first.closed, false);

  first.pong = 'silent';
  assert.equal(await h.sup.ping(20), false);
  assert.equal(first.closed, true);
  logged(h.logs, 'warn: agent did not answer a ping within 0.02 s: restarting it');
  const second = await h.started(2);
  assert.deepEqual(h.modes, ['auto', 'auto'], 'restarted at once, in the same mode');

  second.pong = 'stale'; // a Pong to some other ping is not an answer
  assert.equal(await h.sup.ping(20), false);
  assert.equal(second.closed, true);
  const third = await h.started(3);
  assert.equal(await h.sup.ping(1000), true);
  assert.equal(third.sentOf('Ping').length, 1);
  assert.notEqual(third.sentOf('Ping')[0]?.value, ping.value, 'each ping has its own value');
  await h.finish();
});

test('UDP: Start/StopUdpForward follow the manager, datagrams flow, re-announced on restart', T, async (t) => {
  const port = await freePort();
  const h = harness(t, { protocol: 'both' });
  h.running();
  const first = await h.started(1);
  assert.deepEqual(first.sentOf('WatchRequest'), [{ type: 'WatchRequest', tcp: true, udp: true, intervalMs: 150 }]);
  const added = once(h.manager, 'forward_added') as Promise<[ForwardAddedEvent]>;
  first.push({ type: 'ScanDelta', full: true, added: [sock('udp', port)], removed: [] });
  const [e] = await added;
  assert.equal(e.protocol, 'udp');
  assert.deepEqual(first.sentOf('StartUdpForward'), [{ type: 'StartUdpForward', port, address: '127.0.0.1' }]);

  // a local client's datagram goes to the agent; the agent's reply comes back to that client
  const client = createSocket('udp4');
  client.bind(0, '127.0.0.1');
  t.after(() => client.close());
  await once(client, 'listening');
  client.send('ping', e.local_port, '127.0.0.1');
  await h.until(() => first.sentOf('UdpPacket').length > 0);
  const [out] = first.sentOf('UdpPacket');
  assert.ok(out, 'a UdpPacket to the agent');
  assert.deepEqual([out.dstPort, Buffer.from(out.data).toString()], [port, 'ping']);
  const reply = once(client, 'message') as Promise<[Buffer]>;
  first.push({ type: 'UdpPacket', srcPort: port, dstPort: out.srcPort, id: out.id, data: Buffer.from('pong') });
  assert.equal((await reply)[0].toString(), 'pong');

  // the next agent is told about the UDP forward that outlived the last one
  first.die('agent exited (code 1)');
  const second = await h.started(2);
  assert.deepEqual(second.sentOf('StartUdpForward'), [{ type: 'StartUdpForward', port, address: '127.0.0.1' }]);

  const removed = once(h.manager, 'forward_removed');
  second.push({ type: 'ScanDelta', full: false, added: [], removed: [sock('udp', port)] });
  await removed;
  assert.deepEqual(second.sentOf('StopUdpForward'), [{ type: 'StopUdpForward', port }]);
  assert.equal(first.sentOf('StopUdpForward').length, 0, 'only the running agent is told');

  // a TCP forward is none of the agent's business; a shutdown of the manager sends no StopUdpForward
  const tcp = await freePort();
  let count = 0;
  const both = new Promise<void>((resolve) => h.manager.on('forward_added', () => ++count === 2 && resolve()));
  second.push({ type: 'ScanDelta', full: false, added: [sock('tcp', tcp), sock('udp', port)], removed: [] });
  await both;
  assert.equal(second.sentOf('StartUdpForward').length, 2);
  await h.manager.close();
  assert.equal(h.manager.list().length, 0);
  assert.equal(second.sentOf('StopUdpForward').length, 1);

  // a disconnect: the connection closes, then the session stops the agent; no UDP sender is left to the dead link
  const senders: unknown[] = [];
  const setUdpSender = h.manager.setUdpSender.bind(h.manager);
  h.manager.setUdpSender = (send) => {
    senders.push(send);
    setUdpSender(send);
  };
  h.end('connection lost');
  await h.sup.stop();
  assert.deepEqual(second.sentOf('Shutdown'), [{ type: 'Shutdown' }]);
  assert.equal(second.closed, true);
  await h.finish();
  assert.deepEqual(senders, [undefined]);
});
