import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RemoteHost } from '../../test/harness/index.ts';
import { onCleanup, stopChild, track } from './cleanup.ts';
import { freePortRange } from './services.ts';

/** Real servers inside the test "remote" for the workload rows (Debian's postgresql-15, redis-server, nginx-light). */
export interface WorkloadServers {
  postgres: number;
  redis: number;
  http: number;
}

/** The page the HTTP rows fetch. */
export const PAGE = '/page-16k.html';
const PG_BIN = '/usr/lib/postgresql/15/bin';

let started: Promise<WorkloadServers> | undefined;

/** Starts the three servers once per bench run (stopped at the end); ports are free locally too. */
export function workloadServers(host: RemoteHost, log: (msg: string) => void): Promise<WorkloadServers> {
  started ??= start(host, log);
  return started;
}

async function start(host: RemoteHost, log: (msg: string) => void): Promise<WorkloadServers> {
  const base = await freePortRange(3);
  const dir = mkdtempSync(join(tmpdir(), 'port-linker-workloads-'));
  chmodSync(dir, 0o755);
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const children: ChildProcess[] = [];
  onCleanup(async () => {
    for (const c of children) await stopChild(c);
  });
  const spawn = (argv: string[]) => {
    const c = host.spawn(argv, 'ignore');
    track(c);
    children.push(c);
  };
  const ports = { postgres: base, redis: base + 1, http: base + 2 };

  // PostgreSQL refuses to run as root: its own user (made by the Debian package), data in a scratch dir
  log(`workloads: postgres on ${ports.postgres}, redis on ${ports.redis}, nginx on ${ports.http} (in the namespace)`);
  const pgDir = join(dir, 'pg');
  mkdirSync(pgDir);
  await host.exec(['chown', 'postgres:postgres', pgDir]);
  const asPostgres = ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups'];
  await host.exec([...asPostgres, `${PG_BIN}/initdb`, '-D', join(pgDir, 'data'), '-A', 'trust', '-U', 'postgres']);
  spawn([
    ...asPostgres,
    `${PG_BIN}/postgres`,
    '-D',
    join(pgDir, 'data'),
    '-k',
    pgDir,
    '-p',
    String(ports.postgres),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'max_connections=200',
  ]);
  spawn([
    'redis-server',
    '--port',
    String(ports.redis),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'no',
  ]);
  const www = join(dir, 'www');
  mkdirSync(www);
  chmodSync(www, 0o755);
  writeFileSync(join(www, PAGE.slice(1)), 'x'.repeat(16 * 1024), { mode: 0o644 });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx-body;
  proxy_temp_path ${dir}/nginx-proxy;
  fastcgi_temp_path ${dir}/nginx-fastcgi;
  uwsgi_temp_path ${dir}/nginx-uwsgi;
  scgi_temp_path ${dir}/nginx-scgi;
  keepalive_requests 10000000;
  server { listen 127.0.0.1:${ports.http}; root ${www}; }
}
`,
  );
  spawn(['nginx', '-c', conf]);

  for (let i = 0; i < 300; i++) {
    const pg = await host.exec([`${PG_BIN}/pg_isready`, '-q', '-h', '127.0.0.1', '-p', String(ports.postgres)], {
      allowFail: true,
    });
    const listening = await host.exec(['ss', '-Hltn', `( sport = :${ports.redis} or sport = :${ports.http} )`]);
    if (pg.code === 0 && listening.stdout.trim().split('\n').length >= 2) break;
    if (i === 299) throw new Error('workload servers did not start within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  // pgbench's tables (scale 1: 100,000 accounts), loaded inside the namespace
  await host.exec([
    'pgbench',
    '-i',
    '-q',
    '-s',
    '1',
    '-h',
    '127.0.0.1',
    '-p',
    String(ports.postgres),
    '-U',
    'postgres',
    'postgres',
  ]);
  return ports;
}
