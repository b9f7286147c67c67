import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ForwardManager, type ForwardSpec, PortFilter } from '@port-linker/forward';
import type { ListeningSocket } from '@port-linker/proto';
import type { ResolvedHost } from '@port-linker/ssh';
import { ForwardSync } from './forward-sync.ts';
import type { HostOptions } from './host-options.ts';

const OPTIONS: HostOptions = {
  auto: true,
  protocol: 'both',
  transport: 'stdio',
  agent: 'auto',
  conflict: 'remap',
  localForwards: ['9000:db:5432'],
  defaultExcludes: true,
  logLevel: 'info',
};
const HOST = { localForwards: ['8443 localhost:443'] } as unknown as ResolvedHost;
const sock = (protocol: 'tcp' | 'udp', port: number, address = '0.0.0.0'): ListeningSocket => ({
  protocol,
  port,
  address,
  process: 'svc',
});

/** A ForwardSync over a manager that only records what it is asked to have. */
function sync(options: Partial<HostOptions> = {}) {
  const calls: ForwardSpec[][] = [];
  const manager = { sync: async (specs: ForwardSpec[]) => void calls.push(specs) } as unknown as ForwardManager;
  const notes: string[] = [];
  const log = { log() {}, warn() {}, error() {}, info: (m: string) => void notes.push(m) };
  const s = new ForwardSync({ ...OPTIONS, ...options }, HOST, {
    manager,
    filter: PortFilter.fromOptions({ defaultExcludes: true }),
    log,
  });
  const last = () => (calls.at(-1) ?? []).map((f) => `${f.key} ${f.bind.join(',')}`).sort();
  return { s, last, notes };
}

test('explicit forwards (ssh_config LocalForward, then -L) are always desired; mirrored ports follow the deltas', async () => {
  const { s, last } = sync();
  await s.resync();
  assert.deepEqual(last(), ['explicit/127.0.0.1:8443 127.0.0.1,::1', 'explicit/127.0.0.1:9000 127.0.0.1,::1']);
  s.udp = true;
  s.apply({
    type: 'ScanDelta',
    full: true,
    added: [sock('tcp', 3000), sock('udp', 5000), sock('tcp', 22)],
    removed: [],
  });
  await s.resync();
  assert.deepEqual(last(), [
    'auto/tcp/3000 127.0.0.1',
    'auto/udp/5000 127.0.0.1',
    'explicit/127.0.0.1:8443 127.0.0.1,::1',
    'explicit/127.0.0.1:9000 127.0.0.1,::1',
  ]);
  s.apply({ type: 'ScanDelta', full: false, added: [], removed: [sock('tcp', 3000)] });
  await s.resync();
  assert.ok(!last().some((l) => l.startsWith('auto/tcp/3000')), 'a removed socket stops its forward');
});

test('the agent’s own ports and UDP without a relaying agent are not mirrored; a bind address applies to mirrored ports', async () => {
  const { s, last } = sync({ bindAddress: '127.0.0.7', localForwards: [] });
  s.apply({
    type: 'ScanDelta',
    full: true,
    added: [sock('tcp', 3000), sock('tcp', 4100), sock('udp', 5000)],
    removed: [],
  });
  s.ownPorts = [4100];
  await s.resync();
  assert.deepEqual(last(), ['auto/tcp/3000 127.0.0.7', 'explicit/127.0.0.1:8443 127.0.0.1,::1']);
});

test('a replaced agent’s own ports (its data path too) stay unmirrored: it may live on after its connection dropped', async () => {
  const { s, last } = sync({ localForwards: [] });
  s.ownPorts = [4100];
  assert.equal(s.addOwnPort(4200), true, 'the data path listener');
  assert.equal(s.addOwnPort(4200), false);
  // a reconnect: the new agent's own ports replace the old one's, which still listens on the remote
  s.ownPorts = [4300];
  s.apply({
    type: 'ScanDelta',
    full: true,
    added: [sock('tcp', 3000), sock('tcp', 4100), sock('tcp', 4200), sock('tcp', 4300)],
    removed: [],
  });
  await s.resync();
  assert.deepEqual(
    last().filter((l) => l.startsWith('auto/')),
    ['auto/tcp/3000 127.0.0.1'],
  );
  assert.deepEqual(s.ownPorts.sort(), [4100, 4200, 4300]);
});

test('addForward and removeForward change the explicit set; a port bound to a specific address gets one note', async () => {
  const { s, last } = sync({ auto: false, localForwards: [] });
  const key = await s.addForward('7000:localhost:80');
  assert.ok(last().includes(`${key} 127.0.0.1,::1`));
  assert.equal(await s.removeForward('7000:localhost:80'), true);
  assert.equal(await s.removeForward(key), false);
  assert.ok(!last().some((l) => l.startsWith(key)));
  const auto = sync({ localForwards: [] });
  auto.s.apply({ type: 'ScanDelta', full: true, added: [sock('tcp', 3000, '10.0.0.5')], removed: [] });
  await auto.s.resync();
  assert.equal(auto.notes.filter((n) => n.includes('listens only on 10.0.0.5')).length, 1);
});

test('port attributes: ignore drops a mirrored port, label and require_local_port travel with the forward', async () => {
  const { PortAttributes } = await import('@port-linker/forward');
  const attributes = new PortAttributes([
    { low: 3000, high: 3000, label: 'web' },
    { low: 8000, high: 8999, label: 'api', requireLocalPort: true },
    { low: 8080, high: 8080, onForward: 'ignore' },
  ]);
  const calls: ForwardSpec[][] = [];
  const manager = { sync: async (specs: ForwardSpec[]) => void calls.push(specs) } as unknown as ForwardManager;
  const log = { log() {}, warn() {}, error() {}, info() {} };
  const s = new ForwardSync({ ...OPTIONS, localForwards: [], attributes }, HOST, {
    manager,
    filter: PortFilter.fromOptions({ defaultExcludes: true }),
    log,
  });
  s.apply({
    type: 'ScanDelta',
    full: true,
    added: [sock('tcp', 3000), sock('tcp', 8080), sock('tcp', 8443), sock('tcp', 9000)],
    removed: [],
  });
  await s.resync();
  const auto = (calls.at(-1) ?? []).filter((f) => f.origin === 'auto');
  assert.deepEqual(
    auto.map((f) => [f.remotePort, f.label, f.requireLocalPort]),
    [
      [3000, 'web', undefined],
      [8443, 'api', true],
      [9000, undefined, undefined],
    ],
  );
});

test('a stopped forward leaves the desired set until started; unknown or twice-stopped keys answer false', async () => {
  const { s, last } = sync();
  s.apply({ type: 'ScanDelta', full: true, added: [sock('tcp', 3000)], removed: [] });
  await s.resync();
  assert.ok(last().includes('auto/tcp/3000 127.0.0.1'));
  assert.equal(await s.stop('auto/tcp/3000'), true);
  assert.ok(!last().some((l) => l.startsWith('auto/tcp/3000')), 'the stopped forward is not desired');
  assert.deepEqual(
    s.stopped().map((f) => f.key),
    ['auto/tcp/3000'],
  );
  assert.equal(await s.stop('auto/tcp/3000'), false, 'already stopped');
  assert.equal(await s.stop('auto/tcp/4444'), false, 'no such forward');
  // a rescan does not bring it back
  s.apply({ type: 'ScanDelta', full: true, added: [sock('tcp', 3000), sock('tcp', 3001)], removed: [] });
  await s.resync();
  assert.ok(!last().some((l) => l.startsWith('auto/tcp/3000 ')));
  assert.equal(await s.start('auto/tcp/3000'), true);
  assert.ok(last().includes('auto/tcp/3000 127.0.0.1'));
  assert.equal(await s.start('auto/tcp/3000'), false, 'not stopped any more');
  assert.deepEqual(s.stopped(), []);
});

/** A ForwardSync for `host` (ssh_config forward values) over a manager that records what it is asked to have. */
function configSync(host: Partial<ResolvedHost>, options: Partial<HostOptions> = {}, skipped: string[] = []) {
  const calls: ForwardSpec[][] = [];
  const manager = {
    sync: async (specs: ForwardSpec[]) => void calls.push(specs),
    isSkipped: (key: string) => skipped.includes(key),
  } as unknown as ForwardManager;
  const log = { log() {}, warn() {}, error() {}, info() {} };
  const s = new ForwardSync({ ...OPTIONS, auto: false, localForwards: [], ...options }, host as ResolvedHost, {
    manager,
    filter: PortFilter.fromOptions({ defaultExcludes: true }),
    log,
  });
  const desired = () => calls.at(-1) ?? [];
  const last = () => desired().map((f) => `${f.key} ${f.bind.join(',')}${f.dynamic ? ' socks' : ''}`);
  return { s, desired, last };
}

test('ssh_config LocalForward, DynamicForward and RemoteForward become forwards, before the command line’s', async () => {
  const { s, desired, last } = configSync(
    {
      localForwards: ['8443 localhost:443', '/tmp/pl-db.sock /run/postgresql/.s.PGSQL.5432'],
      dynamicForwards: ['1080'],
      remoteForwards: ['9000 localhost:3000', '0 /run/app.sock'],
    },
    { localForwards: ['7000:db:5432'], dynamicForwards: ['127.0.0.1:1081'], remoteForwards: ['9001:localhost:3001'] },
  );
  await s.resync();
  assert.deepEqual(last(), [
    'explicit/127.0.0.1:8443 127.0.0.1,::1',
    'explicit/unix:/tmp/pl-db.sock ',
    'explicit/127.0.0.1:7000 127.0.0.1,::1',
    'dynamic/127.0.0.1:1080 127.0.0.1,::1 socks',
    'dynamic/127.0.0.1:1081 127.0.0.1 socks',
  ]);
  const [https, sockFwd] = desired();
  assert.deepEqual([https?.remoteHost, https?.remotePort, https?.requireLocalPort], ['localhost', 443, true]);
  assert.deepEqual([sockFwd?.localPath, sockFwd?.remotePath], ['/tmp/pl-db.sock', '/run/postgresql/.s.PGSQL.5432']);
  assert.deepEqual(
    s.remote.map((r) => [r.key, r.bindAddress, r.port, r.target]),
    [
      ['remote/localhost:9000', 'localhost', 9000, { kind: 'tcp', host: 'localhost', port: 3000 }],
      ['remote/localhost:0', 'localhost', 0, { kind: 'unix', path: '/run/app.sock' }],
      ['remote/localhost:9001', 'localhost', 9001, { kind: 'tcp', host: 'localhost', port: 3001 }],
    ],
  );
});

test('a junk ssh_config forward line is a UsageError naming it', () => {
  assert.throws(() => configSync({ localForwards: ['8443'] }), { name: 'UsageError', message: /-L 8443:/ });
  assert.throws(() => configSync({ localForwards: [], remoteForwards: ['x:1 y'] }), { name: 'UsageError' });
});

test('ClearAllForwardings yes drops the config lines and the command line’s -L, -D and -R; mirroring goes on', async () => {
  const { s, last } = configSync(
    {
      clearAllForwardings: true,
      localForwards: ['8443 localhost:443'],
      dynamicForwards: ['1080'],
      remoteForwards: ['9000 localhost:3000'],
    },
    { auto: true, localForwards: ['7000:db:5432'], dynamicForwards: ['1081'], remoteForwards: ['9001:localhost:3001'] },
  );
  s.apply({ type: 'ScanDelta', full: true, added: [sock('tcp', 3000)], removed: [] });
  await s.resync();
  assert.deepEqual(last(), ['auto/tcp/3000 127.0.0.1']);
  assert.deepEqual(s.remote, []);
  // without it the same options give every forward (the drop is the option's doing)
  const kept = configSync(
    { localForwards: ['8443 localhost:443'], dynamicForwards: ['1080'], remoteForwards: ['9000 localhost:3000'] },
    { localForwards: ['7000:db:5432'], dynamicForwards: ['1081'], remoteForwards: ['9001:localhost:3001'] },
  );
  await kept.s.resync();
  assert.equal(kept.last().length, 4);
  assert.equal(kept.s.remote.length, 2);
});

test('GatewayPorts yes: -L and -D without a bind address listen on every interface; written addresses and mirrored ports do not change', async () => {
  const { s, last } = configSync(
    {
      gatewayPorts: true,
      localForwards: ['8443 localhost:443', 'localhost:8444 localhost:444', '10.1.2.3:8445 localhost:445'],
      dynamicForwards: ['1080'],
      remoteForwards: ['9000 localhost:3000'],
    },
    { auto: true, localForwards: ['7000:db:5432'] },
  );
  s.apply({ type: 'ScanDelta', full: true, added: [sock('tcp', 3000)], removed: [] });
  await s.resync();
  assert.deepEqual(last(), [
    'explicit/*:8443 0.0.0.0,::',
    'explicit/127.0.0.1:8444 127.0.0.1,::1',
    'explicit/10.1.2.3:8445 10.1.2.3',
    'explicit/*:7000 0.0.0.0,::',
    'dynamic/*:1080 0.0.0.0,:: socks',
    'auto/tcp/3000 127.0.0.1',
  ]);
  // -R is the server's GatewayPorts business: the request still names localhost
  assert.deepEqual(
    s.remote.map((r) => r.bindAddress),
    ['localhost'],
  );
  // forwards added at run time follow the same rule, and are removed by the same text
  const key = await s.addForward('7100:localhost:80');
  assert.equal(key, 'explicit/*:7100');
  assert.ok(last().includes('explicit/*:7100 0.0.0.0,::'));
  assert.equal(await s.removeForward('7100:localhost:80'), true);
  assert.ok(!last().some((l) => l.startsWith('explicit/*:7100')));
  // without GatewayPorts the same line is loopback only
  const plain = configSync({ localForwards: ['8443 localhost:443'] });
  await plain.s.resync();
  assert.deepEqual(plain.last(), ['explicit/127.0.0.1:8443 127.0.0.1,::1']);
});

test('failedExplicit lists the config and command-line forwards the manager skipped, not stopped ones', async () => {
  const { s } = configSync({ localForwards: ['8443 localhost:443'], dynamicForwards: ['1080'] }, {}, [
    'explicit/127.0.0.1:8443',
    'dynamic/127.0.0.1:1080',
  ]);
  await s.resync();
  assert.deepEqual(
    s.failedExplicit().map((f) => f.key),
    ['explicit/127.0.0.1:8443', 'dynamic/127.0.0.1:1080'],
  );
  assert.equal(await s.stop('dynamic/127.0.0.1:1080'), true);
  assert.deepEqual(
    s.failedExplicit().map((f) => f.key),
    ['explicit/127.0.0.1:8443'],
  );
});
