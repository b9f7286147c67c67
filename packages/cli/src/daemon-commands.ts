import { Command, CommanderError, InvalidArgumentError } from 'commander';
import type { CommandIo } from './commands/command-io.ts';
import { errorLine } from './exit-codes.ts';
import type { RunIo } from './run.ts';
import { VERSION } from './version.ts';

const lines = (v: string) => {
  const n = Number.parseInt(v, 10);
  if (!Number.isInteger(n) || n < 0 || String(n) !== v) throw new InvalidArgumentError('expected a whole number');
  return n;
};

/** The daemon's commands (`up`, `down`, `ls`, `logs`, `connect`, `disconnect`, `daemon ...`). */
function buildCommands(io: CommandIo, done: (p: Promise<number>) => void): Command {
  const program = new Command('port-linker')
    .version(VERSION, '-V, --version')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => {} })
    .exitOverride()
    .showSuggestionAfterError(true);
  const lazy = <T>(load: () => Promise<T>, call: (m: T) => Promise<number>) => done(load().then(call));
  program
    .command('up')
    .description('start profiles in the background daemon (all of the file when none is named); waits until connected')
    .argument('[profiles...]', 'profile names')
    .option(
      '-f, --file <file>',
      'the profiles file (default: port-linker.yml here or above, then ~/.config/port-linker/profiles.yml)',
    )
    .option('--timeout <seconds>', 'how long to wait for the hosts to connect', lines, 60)
    .action((names: string[], o) =>
      lazy(
        () => import('./commands/up-command.ts'),
        (m) => m.upCommand(names, o, io),
      ),
    );
  program
    .command('down')
    .description('stop profiles or hosts in the daemon (the daemon stays up)')
    .argument('[names...]', 'profile names or hosts')
    .option('--all', 'every host')
    .action((names: string[], o) =>
      lazy(
        () => import('./commands/down-command.ts'),
        (m) => m.downCommand(names, o, io),
      ),
    );
  program
    .command('ls')
    .description("the daemon's hosts and forwards")
    .option('--json', 'one JSON object on stdout')
    .action((o) =>
      lazy(
        () => import('./commands/ls-command.ts'),
        (m) => m.lsCommand(o, io),
      ),
    );
  program
    .command('logs')
    .description("the daemon's log, for one profile or host or all")
    .argument('[name]', 'a profile or host')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('-n, --lines <n>', 'how many of the last lines', lines, 100)
    .action((name: string | undefined, o) =>
      lazy(
        () => import('./commands/logs-command.ts'),
        (m) => m.logsCommand(name, o, io),
      ),
    );
  program
    .command('disconnect')
    .description('stop an ad-hoc host (the same as down)')
    .argument('<targets...>')
    .action((t: string[]) =>
      lazy(
        () => import('./commands/connect-command.ts'),
        (m) => m.disconnectCommand(t, io),
      ),
    );
  program
    .command('daemon')
    .description(
      'the background daemon: start, stop, status, run (in the foreground), install, uninstall (a login service)',
    )
    .argument('<action>', 'start | stop | status | run | install | uninstall')
    .option('--json', 'status as JSON')
    .option('--no-start', 'install: write the unit file only')
    .action((action: string, o: { json?: boolean; start: boolean }) =>
      lazy(
        () => import('./commands/daemon-command.ts'),
        (m) => m.daemonCommand(action, { ...(o.json ? { json: true } : {}), noStart: !o.start }, io),
      ),
    );
  return program;
}

/** Runs a daemon command; resolves with the exit code, never throws. */
export async function runCommand(argv: readonly string[], env: NodeJS.ProcessEnv, runIo: RunIo): Promise<number> {
  const io: CommandIo = { ...runIo, env, cwd: process.cwd() };
  try {
    if (argv[0] === 'connect') {
      // the foreground command's options, parsed by its own parser
      if (argv.length === 1)
        throw Object.assign(new Error('connect: name a host ([user@]host[:port])'), { exitCode: 2 });
      const { connectCommand } = await import('./commands/connect-command.ts');
      return await connectCommand(argv.slice(1), io);
    }
    let result: Promise<number> | undefined;
    const program = buildCommands(io, (p) => {
      result = p;
    });
    try {
      program.parse(argv as string[], { from: 'user' });
    } catch (err) {
      if (err instanceof CommanderError) {
        if (['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code)) return 0;
        const text = err.message.replace(/^error: /, '').split('\n')[0] ?? err.message;
        io.stderr(`port-linker: error: ${text} (see port-linker ${argv[0]} --help)\n`);
        return 2;
      }
      throw err;
    }
    return result ? await result : 0;
  } catch (err) {
    io.stderr(`port-linker: error: ${errorLine(err)}\n`);
    const code = (err as { exitCode?: unknown }).exitCode;
    if (typeof code === 'number') return code;
    if ((err as { code?: unknown }).code === 'EPROFILE') return 2;
    const { exitCodeFor } = await import('./exit-codes.ts');
    return exitCodeFor(err);
  }
}
