import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { ForwardManager, PortFilter } from '@port-linker/forward';
import { ConnectError, type ResolvedHost, type SshConnection } from '@port-linker/ssh';
import type { EventFields, EventName } from './events.ts';
import type { HostOptions } from './host-options.ts';
import { HostSession } from './host-session.ts';

/** A connection that answers health checks as told; abandon() and close() end it like a real one. */
class FakeConnection extends EventEmitter {
  alive = true;
  /** Sits in TCP's retransmission backoff: the check is never answered and nothing arrives. */
  stuck = false;
  remoteAddress = undefined;
  closed = false;
  get silentMs(): number {
    return this.stuck ? 60_000 : 0;
  }
  checkAlive(): Promise<boolean> {
    return this.stuck ? new Promise(() => {}) : Promise.resolve(this.alive);
  }
  abandon(reason: string): void {
    this.#end(reason);
  }
  close(): void {
    this.#end('closed by us');
  }
  forwardOut(): Promise<never> {
    return Promise.reject(new Error('no channels in this test'));
  }
  #end(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', reason);
  }
}

const OPTIONS: HostOptions = {
  auto: false,
  protocol: 'tcp',
  transport: 'stdio',
  agent: 'none',
  conflict: 'remap',
  localForwards: [],
  defaultExcludes: true,
  logLevel: 'info',
};
const HOST = {
  user: 'dev',
  hostname: 'box',
  port: 22,
  localForwards: [],
  alias: 'box',
  proxyJump: [],
} as unknown as ResolvedHost;
const quiet = { log() {}, warn() {}, info() {}, error() {} };

function session(opts: { refuseFirst?: number; reachable?: () => Promise<boolean> } = {}) {
  let refusals = opts.refuseFirst ?? 0;
  const conns: FakeConnection[] = [];
  const events: Array<{ event: EventName } & Record<string, unknown>> = [];
  let changed: () => void = () => {};
  const s = new HostSession(OPTIONS, HOST, {
    log: quiet,
    emit: <K extends EventName>(event: K, fields: EventFields[K]) => {
      events.push({ event, ...fields });
      changed();
    },
    manager: new ForwardManager({ conflict: 'remap' }),
    filter: PortFilter.fromOptions({ defaultExcludes: true }),
    connect: (async () => {
      if (refusals-- > 0) throw new ConnectError('box', 'connect ECONNREFUSED 10.0.0.2:22', 'ECONNREFUSED');
      const c = new FakeConnection();
      conns.push(c);
      return c as unknown as SshConnection;
    }) as never,
    backoff: () => 60_000, // a reconnect that waits out its backoff would time the test out
    reachable: opts.reachable ?? (async () => false),
    persistent: true,
  });
  /** Resolves once an event `name` has been emitted `count` times. */
  const seen = (name: EventName, count = 1) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (events.filter((e) => e.event === name).length >= count) resolve();
      };
      changed = check;
      check();
    });
  return { s, conns, events, seen };
}

test('a health check on a live link reports it alive and changes nothing', async () => {
  const { s, conns, events, seen } = session();
  const stop = new AbortController();
  const running = s.run(stop.signal);
  await seen('connected');
  await s.checkNow('frozen');
  assert.deepEqual(
    events.filter((e) => e.event === 'health_check').map((e) => [e.trigger, e.alive]),
    [['frozen', true]],
  );
  assert.equal(conns.length, 1);
  assert.ok(!events.some((e) => e.event === 'disconnected'));
  stop.abort();
  await running;
});

test('after a wake-up a dead link is dropped at once and rebuilt without waiting out the backoff', async () => {
  const { s, conns, events, seen } = session();
  const stop = new AbortController();
  const running = s.run(stop.signal);
  await seen('connected');
  (conns[0] as FakeConnection).alive = false;
  await s.checkNow('clock_jump');
  await seen('disconnected');
  assert.match(
    String(events.find((e) => e.event === 'disconnected')?.reason),
    /round trip over the link failed after a clock_jump/,
  );
  // now in a 60 s backoff: the next wake-up (the network may be back) retries at once
  await s.checkNow('clock_jump');
  await seen('reconnected');
  assert.equal(conns.length, 2, 'a second connection');
  assert.equal(events.filter((e) => e.event === 'connected').length, 2);
  stop.abort();
  await running;
});

test('a stalled channel open checks the link at once; a dead one is rebuilt', async () => {
  const { s, conns, events, seen } = session({ reachable: async () => true });
  const stop = new AbortController();
  const running = s.run(stop.signal);
  await seen('connected');
  (conns[0] as FakeConnection).alive = false;
  conns[0]?.emit('stalled', 'channel open unanswered for 3 s');
  await seen('disconnected');
  assert.equal(events.find((e) => e.event === 'health_check')?.trigger, 'channel open unanswered for 3 s');
  await seen('reconnected'); // the 60 s backoff cut short: the server answers a TCP connect
  assert.equal(conns.length, 2);
  stop.abort();
  await running;
});

test('a link left silent after an outage while the server takes new connections is rebuilt with no backoff', async () => {
  const { s, conns, events, seen } = session({ reachable: async () => true });
  const stop = new AbortController();
  const running = s.run(stop.signal);
  await seen('connected');
  (conns[0] as FakeConnection).stuck = true;
  const t0 = performance.now();
  conns[0]?.emit('stalled', 'channel open unanswered for 1 s');
  await seen('reconnected');
  assert.match(String(events.find((e) => e.event === 'disconnected')?.reason), /takes new connections but this one/);
  assert.equal(events.find((e) => e.event === 'reconnecting')?.delay_ms, 0, 'not the 60 s backoff');
  assert.ok(performance.now() - t0 < 2900, 'before the 3 s check timeout');
  assert.equal(conns.length, 2);
  stop.abort();
  await running;
});

test('after a refused connect, the backoff ends once the server answers a TCP connect (probed every second)', async () => {
  let probes = 0;
  const { s, conns, events, seen } = session({ refuseFirst: 1, reachable: async () => ++probes >= 2 });
  const stop = new AbortController();
  const t0 = Date.now();
  const running = s.run(stop.signal);
  await seen('connected');
  assert.equal(events.filter((e) => e.event === 'reconnecting').length, 1, 'one failed attempt');
  assert.equal(probes, 2, 'the second probe answered');
  assert.ok(Date.now() - t0 < 10_000, 'well before the 60 s backoff');
  assert.equal(conns.length, 1);
  stop.abort();
  await running;
});
