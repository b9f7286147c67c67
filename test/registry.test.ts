import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { RemoteHost } from './harness/index.ts';
import { run } from './harness/run.ts';
import { CLI } from './support/cli-process.ts';
import { runCli } from './support/cli-run.ts';

interface Lease {
  port: number;
  service_name: string;
  pid?: number;
}

async function leases(env: NodeJS.ProcessEnv): Promise<Lease[]> {
  const r = await runCli(['leases', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { leases: Lease[] }).leases;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}

const SERVER = `import { createServer } from 'node:http';
createServer((q, s) => s.end('api on ' + process.env.PORT + ' needs db ' + process.env.DB_MAIN_PORT + '\\n'))
  .listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => process.exit(7));
`;

describe('the local port registry: leases, run, lookup (daemon, real sshd)', () => {
  let host: RemoteHost;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    host = await RemoteHost.start();
    dir = mkdtempSync(join(tmpdir(), 'pl-registry-'));
    writeFileSync(join(dir, 'server.mjs'), SERVER);
    env = { PORT_LINKER_HOME: join(dir, 'state'), XDG_RUNTIME_DIR: undefined };
  });
  after(async () => {
    if (env) await runCli(['daemon', 'stop'], env).catch(() => {});
    await host?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('run injects a leased port and --needs ports, renews, passes SIGTERM and the exit code, and releases; lookup --url answers', async () => {
    const db = await runCli(['alloc', 'db.main', '--ttl', '60'], env);
    assert.equal(db.code, 0, db.stderr);
    assert.match(db.stdout, /^\d+\n$/, 'alloc prints the port alone');
    const dbPort = Number(db.stdout);
    // something answers on the db lease, so --needs db.main is satisfied
    const dbServer = spawn(process.execPath, ['-e', `require('net').createServer().listen(${dbPort}, '127.0.0.1')`]);
    try {
      const child = spawn(
        process.execPath,
        [CLI, 'run', 'api', '--ttl', '3', '--needs', 'db.main', '--', process.execPath, join(dir, 'server.mjs')],
        { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      await until('the server to listen', async () =>
        (await new Promise<boolean>((r) =>
          child.stdout.once('data', (d: Buffer) => r(String(d).includes('listening'))),
        ))
          ? true
          : undefined,
      );
      const url = await runCli(['lookup', 'api', '--url'], env);
      assert.equal(url.code, 0, url.stderr);
      const apiPort = Number(/^http:\/\/127\.0\.0\.1:(\d+)\n$/.exec(url.stdout)?.[1]);
      assert.notEqual(apiPort, dbPort);
      const body = (await run(['curl', '-sS', url.stdout.trim()])).stdout;
      assert.equal(body, `api on ${apiPort} needs db ${dbPort}\n`);
      assert.match(stderr, /run: db\.main answers on 127\.0\.0\.1:\d+/);
      // a TTL of 3 s outlived: the heartbeats renew it
      await delay(4000);
      assert.deepEqual(
        (await leases(env)).filter((l) => l.service_name === 'api').map((l) => l.port),
        [apiPort],
        'renewed while it runs',
      );
      child.kill('SIGTERM');
      assert.equal(await exited, 7, `the command's exit code; stderr: ${stderr}`);
      assert.deepEqual(
        (await leases(env)).map((l) => l.service_name),
        ['db.main'],
        'released on exit',
      );
      const none = await runCli(['lookup', 'api'], env);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /no lease, label, remote process or host:port is api/);
    } finally {
      dbServer.kill();
    }
    assert.equal((await runCli(['release', 'db.main'], env)).code, 0);
    assert.deepEqual(await leases(env), []);
  });

  test('a run killed outright (kill -9) does not keep its lease', async () => {
    const child = spawn(process.execPath, [CLI, 'run', 'orphan', '--ttl', '600', '--', 'sleep', '600'], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    await until('the lease', async () =>
      (await leases(env)).some((l) => l.service_name === 'orphan') ? true : undefined,
    );
    child.kill('SIGKILL');
    await until(
      'the lease of the dead run to go',
      async () => ((await leases(env)).some((l) => l.service_name === 'orphan') ? undefined : true),
      10_000,
    );
  });

  test('a lease survives kill -9 of the daemon until its TTL ends', async () => {
    const a = await runCli(['alloc', 'keep', '--ttl', '4'], env);
    assert.equal(a.code, 0, a.stderr);
    const port = Number(a.stdout);
    const status = JSON.parse((await runCli(['daemon', 'status', '--json'], env)).stdout) as { pid: number };
    process.kill(status.pid, 'SIGKILL');
    await until('the daemon to die', async () => {
      try {
        process.kill(status.pid, 0);
        return undefined;
      } catch {
        return true;
      }
    });
    assert.equal((await runCli(['daemon', 'start'], env)).code, 0);
    assert.deepEqual(
      (await leases(env)).map((l) => [l.service_name, l.port]),
      [['keep', port]],
    );
    const other = await runCli(['alloc', 'other', '--ttl', '60'], env);
    assert.notEqual(Number(other.stdout), port, 'a live lease is not given out again');
    await until('the lease to expire', async () =>
      (await leases(env)).some((l) => l.service_name === 'keep') ? undefined : true,
    );
    assert.equal((await runCli(['release', String(other.stdout.trim())], env)).code, 0);
  });

  test('lookup finds a remote process by name (postgres on a real host) and host:remote_port; a lease of that name wins; a held port is never leased', async () => {
    const pg = await host.serve('tcp-echo', 0, '127.0.0.1', { name: 'postgres' });
    const c = await runCli(
      [
        'connect',
        host.target,
        '-i',
        host.clientKeyPath,
        '-o',
        `UserKnownHostsFile=${host.knownHostsPath}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '--ports',
        String(pg.port),
      ],
      env,
    );
    assert.equal(c.code, 0, c.stderr);
    const byName = await until('postgres to be mirrored', async () => {
      const r = await runCli(['lookup', 'postgres', '--json'], env);
      return r.code === 0 ? (JSON.parse(r.stdout) as { port: number; kind: string; remote_port: number }) : undefined;
    });
    assert.equal(byName.kind, 'process');
    assert.equal(byName.remote_port, pg.port);
    const byPort = await runCli(['lookup', `${host.target}:${pg.port}`], env);
    assert.equal(byPort.code, 0, byPort.stderr);
    assert.equal(Number(byPort.stdout), byName.port);
    // a lease of that name wins over the remote process
    const lease = await runCli(['alloc', 'postgres'], env);
    assert.equal(Number((await runCli(['lookup', 'postgres'], env)).stdout), Number(lease.stdout));
    assert.equal((await runCli(['release', 'postgres'], env)).code, 0);
    // the port a mirrored forward holds is never leased
    const taken = await runCli(['alloc', 'x', '--port', String(byName.port)], env);
    assert.notEqual(taken.code, 0);
    assert.match(taken.stderr, /in use on this machine/);
  });
});

describe('the loopback TCP API (daemon start --api): token, Host and Origin checked', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let base: string;
  let token: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pl-api-tcp-'));
    env = { PORT_LINKER_HOME: join(dir, 'state'), XDG_RUNTIME_DIR: undefined, PORT_LINKER_API: undefined };
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const start = await runCli(['daemon', 'start', '--api', `127.0.0.1:${port}`], env);
    assert.equal(start.code, 0, start.stderr);
    base = `http://127.0.0.1:${port}`;
    const file = join(dir, 'state', 'api-token');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    token = readFileSync(file, 'utf8').trim();
  });
  after(async () => {
    if (env) await runCli(['daemon', 'stop'], env).catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const curl = async (args: string[]) => {
    const r = await run(['curl', '-sS', '-o', '-', '-w', '\n%{http_code}', ...args], { allowFail: true });
    const lines = r.stdout.trimEnd().split('\n');
    return { status: Number(lines.pop()), body: lines.join('\n') };
  };

  test('refusals: no token 401, a wrong one 401, a foreign Host 403, a foreign Origin 403; then PortManager calls work', async () => {
    const alloc = ['-X', 'POST', '-H', 'content-type: application/json', '-d', '{"service_name":"tcp-api"}'];
    const auth = ['-H', `Authorization: Bearer ${token}`];
    assert.equal((await curl([...alloc, `${base}/alloc`])).status, 401);
    assert.equal((await curl([...alloc, '-H', 'Authorization: Bearer nope', `${base}/alloc`])).status, 401);
    assert.equal((await curl([...alloc, ...auth, '-H', 'Host: evil.example:80', `${base}/alloc`])).status, 403);
    assert.equal((await curl([...alloc, ...auth, '-H', 'Origin: http://evil.example', `${base}/alloc`])).status, 403);
    const ok = await curl([...alloc, ...auth, `${base}/alloc`]);
    assert.equal(ok.status, 200, ok.body);
    const port = (JSON.parse(ok.body) as { port: number }).port;
    const look = await curl([...auth, `${base}/lookup?service=tcp-api`]);
    assert.deepEqual(
      [look.status, (JSON.parse(look.body) as { port: number; all_ports: number[] }).all_ports],
      [200, [port]],
    );
    const list = await curl([...auth, '-H', `Origin: ${base}`, `${base}/v1/list`]);
    assert.equal(list.status, 200, 'a same-origin page may call it (with the token)');
    // hosts are changed, and the daemon stopped, over the 0600 socket only
    assert.notEqual((await curl([...auth, '-X', 'POST', `${base}/v1/shutdown`])).status, 200);
    assert.equal((await runCli(['leases', '--json'], env)).code, 0, 'the daemon still runs');
  });
});
