import { ForwardManager, PortFilter } from '@port-linker/forward';
import { parseTarget, resolveHost, ttyPrompter } from '@port-linker/ssh';
import { type CliConfig, parseCli } from './cli-options.ts';
import { EventWriter } from './event-writer.ts';
import { ExitCode, errorLine, exitCodeFor } from './exit-codes.ts';
import { HostSession } from './host-session.ts';
import { Logger } from './logger.ts';
import { BurstNotifier, desktopNotify, hasDisplay } from './notifier.ts';
import { killLocalOwner } from './port-killer.ts';
import { StatusView } from './status-view.ts';

/** The process's outside world, injected so `run` is testable and free of import-time effects. */
export interface RunIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  stderrIsTty: boolean;
  /** Aborted on SIGINT/SIGTERM by main. */
  signal: AbortSignal;
}

/** Version shown by -V (kept in step with package.json by the release process). */
export const VERSION = '0.1.0';

/** Runs the CLI and resolves with the process exit code. Never throws. */
export async function run(argv: readonly string[], env: NodeJS.ProcessEnv, io: RunIo): Promise<number> {
  let cfg: CliConfig;
  try {
    const parsed = parseCli(argv, env, VERSION, { out: io.stdout, err: io.stderr });
    if (parsed.kind === 'exit') return parsed.code;
    cfg = parsed.config;
  } catch (err) {
    io.stderr(`port-linker: error: ${errorLine(err)}\n`);
    return exitCodeFor(err);
  }
  const color = io.stderrIsTty && !env.NO_COLOR && cfg.logFormat === 'pretty';
  const log = new Logger({ level: cfg.logLevel, format: cfg.logFormat, color, sink: (l) => io.stderr(`${l}\n`) });
  const events = new EventWriter(cfg.json ? io.stdout : undefined);
  try {
    const host = resolveHost(parseTarget(cfg.target), {
      ...(cfg.sshConfig ? { configFile: cfg.sshConfig } : {}),
      identities: cfg.identities,
      ...(cfg.jump ? { jump: cfg.jump } : {}),
      options: cfg.sshOptions,
    });
    const filter = PortFilter.fromOptions({
      ...(cfg.ports === undefined ? {} : { ports: cfg.ports }),
      ...(cfg.exclude === undefined ? {} : { exclude: cfg.exclude }),
      defaultExcludes: cfg.defaultExcludes,
    });
    const prompt = ttyPrompter();
    const manager = new ForwardManager({
      conflict: cfg.conflict,
      killOwner: (port) => killLocalOwner(port, { log, prompt }),
      log: (level, msg) => log.log(level, msg),
    });
    const view =
      io.stderrIsTty && cfg.logFormat === 'pretty' ? new StatusView(() => manager.list(), io.stderr, color) : undefined;
    if (view) {
      log.beforeWrite = () => view.clear();
      log.afterWrite = () => view.draw();
    }
    const notifier =
      cfg.notify && hasDisplay(env)
        ? new BurstNotifier(host.alias, desktopNotify, (err) => log.debug(`notification failed: ${err.message}`))
        : undefined;
    manager.on('forward_added', (e) => {
      events.emit('forward_added', e);
      const target = `${e.remote_addr.includes(':') ? `[${e.remote_addr}]` : e.remote_addr}:${e.remote_port}`;
      log.info(`forwarding localhost:${e.local_port} -> ${target}${e.process ? ` (${e.process})` : ''}`);
      notifier?.add(`localhost:${e.local_port}${e.process ? ` (${e.process})` : ''}`);
    });
    manager.on('forward_removed', (e) => {
      events.emit('forward_removed', e);
      log.info(`stopped localhost:${e.local_port} (remote port ${e.remote_port}: ${e.reason.replace('_', ' ')})`);
    });
    manager.on('conflict', (e) => {
      events.emit('conflict', e);
      const where = e.local_port === undefined ? '' : ` -> localhost:${e.local_port}`;
      log.warn(`local port ${e.wanted_local_port} for remote port ${e.remote_port}: ${e.reason}; ${e.action}${where}`);
    });
    view?.start();
    const session = new HostSession(cfg, host, {
      log,
      events,
      manager,
      filter,
      ...(view ? { view } : {}),
      ...(prompt ? { prompt } : {}),
    });
    try {
      await session.run(io.signal);
    } finally {
      notifier?.flush();
      view?.stop();
    }
    log.info('stopped');
    return ExitCode.ok;
  } catch (err) {
    events.emit('error', {
      message: errorLine(err),
      ...(err instanceof Error && 'code' in err ? { code: String(err.code) } : {}),
    });
    log.error(errorLine(err));
    const code = exitCodeFor(err);
    if (code === ExitCode.failure && !(err instanceof Error && 'code' in err))
      log.debug(String((err as Error)?.stack ?? err));
    return code;
  }
}
