import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { NoDaemonError } from '@port-linker/client';
import { selfCommand } from '../self-command.ts';
import { VERSION } from '../version.ts';
import type { CommandIo } from './command-io.ts';
import { clientFor, type DaemonStatus, ensureDaemon, versionProblem } from './daemon-client.ts';
import { UsageError } from './down-command.ts';
import { LAUNCHD_LABEL, launchdPlist, SYSTEMD_UNIT, serviceFilePath, systemdUnit } from './service-unit.ts';

/** `daemon run`: the daemon in the foreground until SIGTERM/SIGINT (what a service manager and `up` start). */
async function runDaemon(io: CommandIo): Promise<number> {
  const { Daemon, daemonPaths } = await import('@port-linker/daemon');
  const daemon = await Daemon.start({ paths: daemonPaths(io.env), version: VERSION, env: io.env });
  io.signal.addEventListener('abort', () => void daemon.stop(), { once: true });
  await daemon.done;
  return 0;
}

async function stopDaemon(io: CommandIo): Promise<number> {
  const { client } = clientFor(io.env);
  let status: DaemonStatus;
  try {
    status = await client.call<DaemonStatus>('GET', '/v1/status');
  } catch (err) {
    if (!(err instanceof NoDaemonError)) throw err;
    io.stderr('daemon: not running\n');
    return 0;
  }
  await client.call('POST', '/v1/shutdown');
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await client.call('GET', '/v1/status');
    } catch (err) {
      if (err instanceof NoDaemonError) break;
    }
    if (Date.now() > deadline) throw new Error(`the daemon (pid ${status.pid}) did not stop within 20 s`);
    await delay(50);
  }
  // the socket closes before the process has released its lock: wait for the process itself
  while (Date.now() < deadline) {
    try {
      process.kill(status.pid, 0);
    } catch {
      break;
    }
    await delay(20);
  }
  io.stderr(`daemon: stopped (pid ${status.pid}); its hosts come back on the next start\n`);
  return 0;
}

function serviceCommand(io: CommandIo) {
  const self = selfCommand('daemon', 'run');
  return {
    node: self.program,
    args: self.args,
    ...(io.env.PORT_LINKER_HOME ? { stateHome: io.env.PORT_LINKER_HOME } : {}),
  };
}

/** Runs a service manager command; its output when it fails. */
function manager(cmd: string, args: string[]): { ok: boolean; output: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000 });
  return { ok: r.status === 0, output: `${r.stderr ?? ''}${r.stdout ?? ''}`.trim() || String(r.error ?? '') };
}

function hasSystemd(): boolean {
  return (
    existsSync('/run/systemd/system') &&
    spawnSync('systemctl', ['--user', 'is-system-running'], { timeout: 5000 }).error === undefined
  );
}

async function install(io: CommandIo, opts: { noStart?: boolean }): Promise<number> {
  const path = serviceFilePath(process.platform, io.env);
  const { paths } = clientFor(io.env);
  const text =
    process.platform === 'darwin' ? launchdPlist(serviceCommand(io), paths.out) : systemdUnit(serviceCommand(io));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text, { mode: 0o644 });
  io.stderr(`daemon: wrote ${path}\n`);
  if (opts.noStart) return 0;
  if (process.platform === 'darwin') {
    const r = manager('launchctl', ['load', '-w', path]);
    if (!r.ok) throw new Error(`launchctl load ${path} failed: ${r.output}`);
    io.stderr(`daemon: loaded ${LAUNCHD_LABEL}; it starts at login\n`);
    return 0;
  }
  if (!hasSystemd()) {
    io.stderr(
      `daemon: no systemd user manager here; when there is one, run: systemctl --user daemon-reload && systemctl --user enable --now ${SYSTEMD_UNIT}\n`,
    );
    return 0;
  }
  for (const args of [
    ['--user', 'daemon-reload'],
    ['--user', 'enable', '--now', SYSTEMD_UNIT],
  ]) {
    const r = manager('systemctl', args);
    if (!r.ok) throw new Error(`systemctl ${args.join(' ')} failed: ${r.output}`);
  }
  io.stderr(`daemon: enabled ${SYSTEMD_UNIT}; it starts at login\n`);
  return 0;
}

async function uninstall(io: CommandIo): Promise<number> {
  const path = serviceFilePath(process.platform, io.env);
  if (!existsSync(path)) {
    io.stderr(`daemon: no service installed (${path} does not exist)\n`);
    return 0;
  }
  if (process.platform === 'darwin') manager('launchctl', ['unload', '-w', path]);
  else if (hasSystemd()) manager('systemctl', ['--user', 'disable', '--now', SYSTEMD_UNIT]);
  rmSync(path, { force: true });
  if (process.platform !== 'darwin' && hasSystemd()) manager('systemctl', ['--user', 'daemon-reload']);
  io.stderr(`daemon: removed ${path}\n`);
  return 0;
}

/** `port-linker daemon start|stop|status|run|install|uninstall`. */
export async function daemonCommand(
  action: string,
  opts: { json?: boolean; noStart?: boolean },
  io: CommandIo,
): Promise<number> {
  switch (action) {
    case 'run':
      return runDaemon(io);
    case 'start': {
      const { client, started } = await ensureDaemon(io.env, (l) => io.stderr(`${l}\n`));
      const s = await client.call<DaemonStatus>('GET', '/v1/status');
      io.stderr(`daemon: ${started ? 'started' : 'already running'} (pid ${s.pid}, socket ${s.socket})\n`);
      return 0;
    }
    case 'stop':
      return stopDaemon(io);
    case 'status': {
      const { client, paths } = clientFor(io.env);
      try {
        const s = await client.call<DaemonStatus>('GET', '/v1/status');
        if (opts.json) io.stdout(`${JSON.stringify(s)}\n`);
        else
          io.stdout(
            `running: pid ${s.pid}, version ${s.version}, since ${s.started_at}, ${s.hosts} host(s), socket ${s.socket}\n`,
          );
        const problem = versionProblem(s);
        if (problem) io.stderr(`port-linker: warning: ${problem}\n`);
        return 0;
      } catch (err) {
        if (!(err instanceof NoDaemonError)) throw err;
        if (opts.json) io.stdout(`${JSON.stringify({ running: false, socket: paths.socket })}\n`);
        else io.stdout(`not running (state dir ${paths.stateDir})\n`);
        return 3;
      }
    }
    case 'install':
      return install(io, opts);
    case 'uninstall':
      return uninstall(io);
    default:
      throw new UsageError(`daemon ${action}: unknown action (use start, stop, status, run, install or uninstall)`);
  }
}
