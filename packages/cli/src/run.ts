import {
  describeEvent,
  Engine,
  type EngineEvent,
  ensureStateDir,
  type HostOptions,
  LoopbackAddresses,
  makeEvent,
  StickyPorts,
} from '@port-linker/engine';
import { parseTarget, type ResolvedHost, resolveHost, ttyPrompter } from '@port-linker/ssh';
import { type CliConfig, CliUsageError, parseCli } from './cli-options.ts';
import { ExitCode, errorLine, exitCodeFor } from './exit-codes.ts';
import { HostStatusBoard } from './host-status-board.ts';
import { Logger } from './logger.ts';
import { BurstNotifier, desktopNotify, hasDisplay, openBrowser } from './notifier.ts';
import { killLocalOwner } from './port-killer.ts';
import { loadNamedProfiles } from './profile-hosts.ts';
import { StatusView } from './status-view.ts';
import { VERSION_LINE } from './version.ts';

/** The process's outside world, injected so `run` is testable and free of import-time effects. */
export interface RunIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  stderrIsTty: boolean;
  /** Aborted on SIGINT/SIGTERM by main. */
  signal: AbortSignal;
}

export { VERSION } from './version.ts';

/**
 * Runs the CLI and resolves with the process exit code. Never throws. Every target is mirrored at once by one
 * Engine; the command fails only when every host fails (on its first attempt, or later with an auth/host-key error).
 */
export async function run(argv: readonly string[], env: NodeJS.ProcessEnv, io: RunIo): Promise<number> {
  let cfg: CliConfig;
  try {
    const parsed = parseCli(argv, env, VERSION_LINE, { out: io.stdout, err: io.stderr });
    if (parsed.kind === 'exit') return parsed.code;
    cfg = parsed.config;
  } catch (err) {
    io.stderr(`port-linker: error: ${errorLine(err)}\n`);
    return exitCodeFor(err);
  }
  const color = io.stderrIsTty && !env.NO_COLOR && cfg.logFormat === 'pretty';
  const log = new Logger({ level: cfg.logLevel, format: cfg.logFormat, color, sink: (l) => io.stderr(`${l}\n`) });
  const writeEvent = (e: EngineEvent) => {
    if (cfg.json) io.stdout(`${JSON.stringify(e)}\n`);
  };
  const multi = cfg.targets.length + cfg.profiles.length > 1;
  const hostLog = (host: string) => (multi ? log.child({ host }) : log);
  const failed = (host: string, err: unknown) => {
    writeEvent(
      makeEvent(host, 'error', {
        message: errorLine(err),
        ...(err instanceof Error && 'code' in err ? { code: String(err.code) } : {}),
      }),
    );
    hostLog(host).error(errorLine(err));
    if (exitCodeFor(err) === ExitCode.failure && !(err instanceof Error && 'code' in err))
      log.debug(String((err as Error)?.stack ?? err));
  };

  const hosts: Array<[string, ResolvedHost]> = [];
  /** Per host: its own options (a profile's), else the command line's. */
  const optionsOf = new Map<string, HostOptions>();
  const names = [...cfg.targets, ...cfg.profiles];
  try {
    for (const target of cfg.targets) {
      hosts.push([
        target,
        resolveHost(parseTarget(target), {
          ...(cfg.sshConfig ? { configFile: cfg.sshConfig } : {}),
          identities: cfg.identities,
          ...(cfg.jump ? { jump: cfg.jump } : {}),
          options: cfg.sshOptions,
        }),
      ]);
    }
    if (cfg.profiles.length > 0) {
      for (const p of await loadNamedProfiles(cfg.profiles, cfg.profileFile, env)) {
        hosts.push([p.name, p.resolved]);
        optionsOf.set(p.name, { ...p.options, logLevel: cfg.logLevel });
      }
    }
  } catch (err) {
    failed(names[hosts.length] ?? '', err);
    return err instanceof Error && (err as { code?: unknown }).code === 'EPROFILE' ? ExitCode.usage : exitCodeFor(err);
  }
  // --no-auto with nothing to forward: the forwards may come from ssh_config (LocalForward, ...), so checked here
  for (const [target, host] of hosts) {
    const o = optionsOf.get(target) ?? cfg;
    const lines = [host.localForwards, host.remoteForwards, host.dynamicForwards].flatMap((l) => l ?? []);
    const flags = [o.localForwards, o.remoteForwards, o.dynamicForwards].flatMap((l) => l ?? []);
    if (!o.auto && lines.length + flags.length === 0) {
      failed(
        target,
        new CliUsageError('--no-auto needs at least one -L, -R or -D forward (e.g. -L 8080:localhost:80)'),
      );
      return ExitCode.usage;
    }
  }

  let stateDir: string | undefined;
  try {
    stateDir = ensureStateDir(env);
  } catch (err) {
    log.warn(`no state dir (${errorLine(err)}): local ports are not remembered across restarts`);
  }
  const ports = new StickyPorts(stateDir, (msg) => log.warn(msg));
  const prompt = ttyPrompter();
  let engine: Engine | undefined;
  const rows = () =>
    (engine?.snapshot() ?? []).flatMap((h) => h.forwards.map((f) => (multi ? { ...f, host: h.host } : f)));
  const view = io.stderrIsTty && cfg.logFormat === 'pretty' ? new StatusView(rows, io.stderr, color) : undefined;
  if (view) {
    log.beforeWrite = () => view.clear();
    log.afterWrite = () => view.draw();
  }
  const board = view ? new HostStatusBoard(view, names) : undefined;
  const addresses = new LoopbackAddresses(new StickyPorts(stateDir, (msg) => log.warn(msg), 'addresses.json'));
  engine = new Engine({
    ports,
    addresses,
    logFor: hostLog,
    ...(board ? { statusFor: (host: string) => board.forHost(host) } : {}),
    killOwner: (port, l) => killLocalOwner(port, { log: l, prompt }),
    ...(prompt ? { prompt } : {}),
  });
  const notifiers = new Map<string, BurstNotifier>();
  if (cfg.notify && hasDisplay(env)) {
    for (const [target, host] of hosts) {
      const onError = (err: Error) => log.debug(`notification failed: ${err.message}`);
      notifiers.set(target, new BurstNotifier(host.alias, desktopNotify, onError));
    }
  }
  engine.on('event', (e) => {
    writeEvent(e);
    const line = describeEvent(e);
    if (line) hostLog(e.host).log(line.level, line.message);
    if (e.event === 'forward_added') {
      const local = `${e.local_addr === '127.0.0.1' ? 'localhost' : e.local_addr}:${e.local_port}`;
      const onForward = optionsOf.get(e.host)?.attributes?.for(e.remote_port).onForward ?? 'notify';
      const what = `${local}${e.label ? ` ${e.label}` : ''}${e.process ? ` (${e.process})` : ''}`;
      if (onForward === 'notify') notifiers.get(e.host)?.add(what);
      else if (onForward === 'open-browser' && e.protocol === 'tcp' && cfg.notify && hasDisplay(env)) {
        openBrowser(`http://${local}/`, (err) => hostLog(e.host).warn(`cannot open a browser: ${err.message}`));
      }
    }
  });

  try {
    for (const [target, host] of hosts) engine.addHost(target, host, optionsOf.get(target) ?? cfg);
  } catch (err) {
    await engine.close();
    failed('', err);
    return exitCodeFor(err);
  }
  view?.start();
  const aborted = new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await Promise.race([engine.settled(), aborted]);
  const outcomes = await engine.close();
  for (const n of notifiers.values()) n.flush();
  view?.stop();
  const errors = outcomes.filter((o) => o.error !== undefined);
  if (!io.signal.aborted && errors.length === outcomes.length && errors[0]) return exitCodeFor(errors[0].error);
  log.info('stopped');
  return ExitCode.ok;
}
