import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { RemoteHost } from './harness/index.ts';
import { runCli } from './support/cli-run.ts';
import { canConnect, tcpRoundTrip } from './support/tcp-client.ts';

interface LsHost {
  id: string;
  state: string;
  forwards: Array<{ spec: { remotePort: number; protocol: string; label?: string }; localPort: number }>;
}
interface Ls {
  daemon: { pid: number; socket: string };
  hosts: LsHost[];
}

const echoes = async (port: number, text: string) =>
  (await tcpRoundTrip(port, Buffer.from(text))).equals(Buffer.from(text));

/** Polls `ls --json` until `pred` holds (the daemon's state changes asynchronously). */
async function lsUntil(
  env: NodeJS.ProcessEnv,
  pred: (ls: Ls) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<Ls> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const r = await runCli(['ls', '--json'], env);
    if (r.code === 0) {
      const ls = JSON.parse(r.stdout) as Ls;
      if (pred(ls)) return ls;
      last = r.stdout;
    } else last = r.stderr;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last ls: ${last}`);
    await delay(100);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the daemon: profiles brought up in the background (3 real sshds)', () => {
  let hosts: RemoteHost[];
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let ports: number[];
  before(async () => {
    hosts = await Promise.all([RemoteHost.start(), RemoteHost.start(), RemoteHost.start()]);
    dir = mkdtempSync(join(tmpdir(), 'pl-daemon-'));
    const services = await Promise.all(hosts.map((h) => h.serve('tcp-echo', 0, '0.0.0.0')));
    ports = services.map((s) => s.port);
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, hosts.map((h) => readFileSync(h.knownHostsPath, 'utf8')).join(''), { mode: 0o600 });
    const profile = (name: string, h: RemoteHost, port: number) => `  ${name}:
    host: ${h.target}
    identity: ${h.clientKeyPath}
    options: { UserKnownHostsFile: ${knownHosts}, StrictHostKeyChecking: "yes" }
    ports: "${port}"
    protocol: tcp
    attributes: { ${port}: { label: svc-${name} } }
`;
    writeFileSync(
      join(dir, 'port-linker.yml'),
      `version: 1\nprofiles:\n${hosts.map((h, i) => profile(`box${i}`, h, ports[i] as number)).join('')}`,
    );
    env = { PORT_LINKER_HOME: join(dir, 'state'), PORT_LINKER_LOG: undefined, XDG_RUNTIME_DIR: undefined };
  });
  after(async () => {
    if (env) await runCli(['daemon', 'stop'], env).catch(() => {});
    await Promise.all((hosts ?? []).map((h) => h.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('up returns once all are connected; ls shows them; up again changes nothing; kill -9 and up restore the same ports; down --all leaves nothing behind', async () => {
    const file = join(dir, 'port-linker.yml');
    const up = await runCli(['up', '-f', file], env);
    assert.equal(up.code, 0, up.stderr);
    for (const i of [0, 1, 2]) assert.match(up.stderr, new RegExp(`box${i}: connected to `), up.stderr);
    assert.match(up.stderr, /starting the daemon/);

    const ls = await lsUntil(
      env,
      (l) =>
        l.hosts.length === 3 &&
        l.hosts.every((h, i) => h.state === 'connected' && h.forwards.some((f) => f.spec.remotePort === ports[i])),
      'three hosts connected, each with its service forwarded',
    );
    assert.deepEqual(
      ls.hosts.map((h) => h.forwards[0]?.spec.label),
      ['svc-box0', 'svc-box1', 'svc-box2'],
      'profile attributes reach the daemon',
    );
    const localOf = (l: Ls) =>
      l.hosts.map((h, i) => h.forwards.find((f) => f.spec.remotePort === ports[i])?.localPort as number);
    const before = localOf(ls);
    for (const p of before) assert.ok(await echoes(p, `hello ${p}`), `the forward on ${p} answers`);

    const text = await runCli(['ls'], env);
    assert.equal(text.code, 0);
    for (const i of [0, 1, 2]) assert.match(text.stdout, new RegExp(`^box${i}\\s+\\S+\\s+connected`, 'm'));
    assert.match(text.stdout, /proto\s+remote\s+local/);

    const idem = await runCli(['up', '-f', file], env);
    assert.equal(idem.code, 0, idem.stderr);
    assert.equal((idem.stderr.match(/already running/g) ?? []).length, 3, idem.stderr);
    assert.doesNotMatch(idem.stderr, /starting the daemon/);
    assert.equal((await lsUntil(env, () => true, 'ls')).daemon.pid, ls.daemon.pid, 'the same daemon');

    // a crash: the next up starts a daemon that restores every host with the same local ports
    process.kill(ls.daemon.pid, 'SIGKILL');
    while (alive(ls.daemon.pid)) await delay(20);
    const restored = await runCli(['up', '-f', file], env);
    assert.equal(restored.code, 0, restored.stderr);
    const ls2 = await lsUntil(
      env,
      (l) => l.hosts.length === 3 && l.hosts.every((h, i) => h.forwards.some((f) => f.spec.remotePort === ports[i])),
      'the three forwards back after kill -9',
    );
    assert.notEqual(ls2.daemon.pid, ls.daemon.pid, 'a new daemon');
    assert.deepEqual(localOf(ls2), before, 'the same local ports after the crash');
    for (const p of before) assert.ok(await echoes(p, `again ${p}`));

    const down = await runCli(['down', '--all'], env);
    assert.equal(down.code, 0, down.stderr);
    const empty = await lsUntil(env, (l) => l.hosts.length === 0, 'no hosts');
    for (const p of before) assert.equal(await canConnect(p), false, `nothing listens on ${p} after down --all`);
    const stop = await runCli(['daemon', 'stop'], env);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(alive(empty.daemon.pid), false, 'the daemon process is gone');
    assert.throws(() => statSync(empty.daemon.socket), /ENOENT/, 'its socket is gone');
    const status = await runCli(['daemon', 'status'], env);
    assert.equal(status.code, 3);
    assert.match(status.stdout, /not running/);
  });
});
