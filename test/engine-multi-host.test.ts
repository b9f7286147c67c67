import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RemoteHost } from './harness/index.ts';
import { type CliEvent, CliProcess } from './support/cli-process.ts';
import { tcpRoundTrip } from './support/tcp-client.ts';

/** A local TCP port that is free right now (the shared remote port must be free locally for the first host). */
async function freeLocalPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** port-linker options that reach every host: each client key, and one known_hosts file with all host keys. */
function argsFor(hosts: RemoteHost[], dir: string): string[] {
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, hosts.map((h) => readFileSync(h.knownHostsPath, 'utf8')).join(''), { mode: 0o600 });
  return [
    '--json',
    '--no-notify',
    ...hosts.flatMap((h) => ['-i', h.clientKeyPath]),
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
  ];
}

const echoes = async (port: number, text: string) =>
  (await tcpRoundTrip(port, Buffer.from(text))).equals(Buffer.from(text));

describe('several hosts in one process (3 real sshds)', () => {
  let hosts: RemoteHost[];
  let dir: string;
  before(async () => {
    hosts = await Promise.all([RemoteHost.start(), RemoteHost.start(), RemoteHost.start()]);
    dir = mkdtempSync(join(tmpdir(), 'pl-multi-'));
  });
  after(async () => {
    await Promise.all((hosts ?? []).map((h) => h.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('one process mirrors all three; the same remote port is remapped for the later hosts; one host’s sshd restart leaves the others serving; a restart gives the same local ports', async () => {
    const shared = await freeLocalPort();
    const services = await Promise.all(hosts.map((h) => h.serve('tcp-echo', shared, '127.0.0.1')));
    const own = await Promise.all(hosts.map((h) => h.serve('tcp-echo', 0, '0.0.0.0')));
    const home = mkdtempSync(join(tmpdir(), 'pl-multi-home-'));
    const targets = hosts.map((h) => h.target);
    const sharedPorts = async (cli: CliProcess) => {
      const byHost = new Map<string, number>();
      for (const t of targets) {
        const e = await cli.waitEvent(
          (x) => x.event === 'forward_added' && x.host === t && x.remote_port === shared,
          `forward_added ${shared} of ${t}`,
          20_000,
        );
        byHost.set(t, e.local_port as number);
      }
      return byHost;
    };
    const cli = new CliProcess([...argsFor(hosts, dir), ...targets], { PORT_LINKER_HOME: home });
    let first: Map<string, number>;
    try {
      first = await sharedPorts(cli);
      const locals = [...first.values()];
      assert.equal(new Set(locals).size, 3, `three different local ports: ${locals}`);
      assert.ok(locals.includes(shared), 'the first host to bind keeps the remote port number');
      const conflicts = cli.events.filter((e) => e.event === 'conflict' && e.remote_port === shared);
      assert.equal(conflicts.length, 2, 'the two later hosts were remapped, with a conflict event each');
      const ownLocal: number[] = [];
      for (const [i, t] of targets.entries()) {
        const e = await cli.waitEvent(
          (x) => x.event === 'forward_added' && x.host === t && x.remote_port === own[i]?.port,
          `own port of ${t}`,
        );
        ownLocal.push(e.local_port as number);
      }
      for (const [t, port] of first) assert.ok(await echoes(port, `via ${t}`), `shared port of ${t} answers`);

      // host b's sshd dies: a and c keep serving; b heals on its own
      const [a, b, c] = targets as [string, string, string];
      await hosts[1]?.stopSshd();
      await cli.waitEvent((e) => e.event === 'disconnected' && e.host === b, `disconnected of ${b}`, 30_000);
      assert.ok(await echoes(first.get(a) ?? 0, 'a still'), 'host a serves while b is down');
      assert.ok(await echoes(first.get(c) ?? 0, 'c still'), 'host c serves while b is down');
      assert.ok(!cli.events.some((e) => e.event === 'disconnected' && e.host !== b), 'only b was disconnected');
      await hosts[1]?.startSshd();
      await cli.waitEvent((e) => e.event === 'reconnected' && e.host === b, `reconnected of ${b}`, 30_000);
      assert.ok(await echoes(first.get(b) ?? 0, 'b again'), 'host b serves again on the same local port');
      assert.ok(await echoes(ownLocal[1] ?? 0, 'b own'));
      assert.equal(await cli.stop(), 0);
    } finally {
      await cli.stop();
    }

    // a restart (same state dir) gives every host the same local port for the shared remote port
    const again = new CliProcess([...argsFor(hosts, dir), ...[...targets].reverse()], { PORT_LINKER_HOME: home });
    try {
      const second = await sharedPorts(again);
      assert.deepEqual(Object.fromEntries(second), Object.fromEntries(first), 'sticky local ports across a restart');
      assert.equal(await again.stop(), 0);
    } finally {
      await again.stop();
      rmSync(home, { recursive: true, force: true });
      await Promise.all([...services, ...own].map((s) => s.stop()));
    }
  });

  test('a host that cannot connect does not stop the others; the command fails only when every host fails', async () => {
    const down = await RemoteHost.start();
    try {
      await down.stopSshd();
      const up = hosts[0] as RemoteHost;
      const svc = await up.serve('tcp-echo', 0, '0.0.0.0');
      const mixed = new CliProcess([...argsFor([up, down], dir), up.target, down.target]);
      try {
        const failed = await mixed.waitEvent((e) => e.event === 'error' && e.host === down.target, 'error of down');
        assert.match(String(failed.message), /connect|refused/i);
        const fwd: CliEvent = await mixed.waitEvent(
          (e) => e.event === 'forward_added' && e.host === up.target && e.remote_port === svc.port,
          'forward of the host that is up',
        );
        assert.ok(await echoes(fwd.local_port as number, 'up'));
        assert.equal(mixed.child.exitCode, null, 'still running for the host that is up');
        assert.equal(await mixed.stop(), 0);
      } finally {
        await mixed.stop();
        await svc.stop();
      }
      const allDown = new CliProcess([...argsFor([down], dir), down.target, `root@${down.gateway}:1`]);
      assert.equal(await allDown.exited, 4, 'every host failed its first attempt: exit 4 (could not connect)');
      const errors = allDown.events.filter((e) => e.event === 'error').map((e) => e.host);
      assert.deepEqual(errors.sort(), [down.target, `root@${down.gateway}:1`].sort());
    } finally {
      await down.close();
    }
  });

  test('--bind-address auto: every host keeps the real port number on its own loopback address, the same after a restart', async () => {
    const two = hosts.slice(0, 2);
    const shared = await freeLocalPort();
    const services = await Promise.all(two.map((h) => h.serve('tcp-echo', shared, '127.0.0.1')));
    const home = mkdtempSync(join(tmpdir(), 'pl-multi-home-'));
    const args = [...argsFor(two, dir), '--bind-address', 'auto', ...two.map((h) => h.target)];
    const addresses = async (cli: CliProcess) => {
      const out: Record<string, string> = {};
      for (const h of two) {
        const e = await cli.waitEvent(
          (x) => x.event === 'forward_added' && x.host === h.target && x.remote_port === shared,
          `forward_added ${shared} of ${h.target}`,
          20_000,
        );
        assert.equal(e.local_port, shared, 'the real port number');
        out[h.target] = String(e.local_addr);
      }
      return out;
    };
    try {
      const cli = new CliProcess(args, { PORT_LINKER_HOME: home });
      let first: Record<string, string>;
      try {
        first = await addresses(cli);
        assert.equal(new Set(Object.values(first)).size, 2, 'one address per host');
        for (const [target, addr] of Object.entries(first)) {
          assert.match(addr, /^127\.0\.0\.\d+$/);
          assert.notEqual(addr, '127.0.0.1');
          const reply = await tcpRoundTrip(shared, Buffer.from(target), addr);
          assert.equal(reply.toString(), target, `${addr}:${shared} reaches ${target}`);
        }
        assert.ok(!cli.events.some((e) => e.event === 'conflict'), 'no remap needed');
      } finally {
        assert.equal(await cli.stop(), 0);
      }
      const again = new CliProcess(args, { PORT_LINKER_HOME: home });
      try {
        assert.deepEqual(await addresses(again), first, 'each host keeps its address across a restart');
      } finally {
        assert.equal(await again.stop(), 0);
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
      await Promise.all(services.map((s) => s.stop()));
    }
  });

  test('a frozen process (SIGSTOP, like a suspended laptop) checks its hosts at once when it runs again', async () => {
    const up = hosts[0] as RemoteHost;
    const svc = await up.serve('tcp-echo', 0, '0.0.0.0');
    const cli = new CliProcess([...argsFor([up], dir), '-o', 'ServerAliveInterval=60', up.target]);
    try {
      const fwd = await cli.forwardFor(svc.port);
      cli.child.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, 5000)); // the freeze itself: what is measured, not a wait for an event
      cli.child.kill('SIGCONT');
      const check = await cli.waitEvent((e) => e.event === 'health_check', 'health_check after the freeze', 10_000);
      assert.equal(check.trigger, 'frozen');
      assert.equal(check.alive, true, 'the link survived the freeze: nothing is rebuilt');
      assert.equal(check.agent, true, 'and the agent answered its ping');
      assert.ok(!cli.events.some((e) => e.event === 'disconnected'));
      assert.ok(await echoes(fwd.local_port as number, 'after the freeze'));
    } finally {
      cli.child.kill('SIGCONT');
      assert.equal(await cli.stop(), 0);
      await svc.stop();
    }
  });
});
