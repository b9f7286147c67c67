import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { CommandIo } from './commands/command-io.ts';
import { errorLine } from './exit-codes.ts';
import type { RunIo } from './run.ts';
import { VERSION_LINE } from './version.ts';

const lines = (v: string) => {
  const n = Number.parseInt(v, 10);
  if (!Number.isInteger(n) || n < 0 || String(n) !== v) throw new InvalidArgumentError('expected a whole number');
  return n;
};

/** The daemon's commands (`up`, `down`, `ls`, `logs`, `connect`, `disconnect`, `daemon ...`). */
function buildCommands(io: CommandIo, done: (p: Promise<number>) => void): Command {
  const program = new Command('port-linker')
    .version(VERSION_LINE, '-V, --version')
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
    .option('--api <address>', 'run, start: also serve the API on this loopback TCP address (token required)')
    .action((action: string, o: { json?: boolean; start: boolean; api?: string }) =>
      lazy(
        () => import('./commands/daemon-command.ts'),
        (m) =>
          m.daemonCommand(
            action,
            { ...(o.json ? { json: true } : {}), noStart: !o.start },
            o.api ? { ...io, env: { ...io.env, PORT_LINKER_API: o.api } } : io,
          ),
      ),
    );
  program
    .command('dashboard')
    .description("the daemon's live web page of hosts, forwards and leases: prints (and opens) its one-time link")
    .option('--no-open', 'print the link only, do not start a browser')
    .action((o: { open: boolean }) =>
      lazy(
        () => import('./commands/dashboard-command.ts'),
        (m) => m.dashboardCommand(o, io),
      ),
    );
  const collect = (value: string, previous: string[]) => [...previous, value];
  program
    .command('doctor')
    .description(
      'check every step of reaching a host and mirroring its ports, each with its time and a fix (exit 1: a step failed)',
    )
    .argument('<target>', '[user@]host[:port] or an ssh_config Host alias')
    .option('--json', 'one JSON object per step on stdout: name, status, ms, detail, fix')
    .option('--config', 'print the effective ssh settings port-linker uses, in ssh -G format')
    .option(
      '--port <n>',
      'explain one remote port: seen, excluded, bound where, local port, forwarded, answering',
      port,
    )
    .option('-i, --identity <file>', 'identity file (repeatable)', collect, [])
    .option('-J, --jump <hosts>', 'jump hosts [user@]host[:port],... (like ssh -J)')
    .option('-F, --ssh-config <file>', 'ssh_config file to read instead of ~/.ssh/config')
    .option('-o <option>', 'ssh option Key=value (repeatable)', collect, [])
    .option('-p, --ports <list>', '--port: the -p filter to explain against')
    .option('-x, --exclude <list>', '--port: the -x filter to explain against')
    .option('--no-default-excludes', '--port: as if run with --no-default-excludes')
    .addOption(
      new Option('--protocol <proto>', '--port: the --protocol to explain against').choices(['tcp', 'udp', 'both']),
    )
    .option('-P, --profile <name>', "--port: take the filter and port attributes of this profile's")
    .option('-f, --file <file>', 'the profiles file for --profile')
    .action((target: string, o) =>
      lazy(
        () => import('./commands/doctor-command.ts'),
        (m) => m.doctorCommand(target, o, io),
      ),
    );
  const ttl = (v: string) => wholeSeconds(v);
  program
    .command('alloc')
    .description('lease a free local port for a service; prints the port alone on stdout')
    .argument('<service>')
    .option('--ttl <seconds>', 'the lease ends unless renewed within this', ttl)
    .option('--port <n>', 'this port rather than any free one', port)
    .action((service: string, o: { ttl?: number; port?: number }) =>
      lazy(
        () => import('./commands/registry-commands.ts'),
        (m) => m.allocCommand(service, o, io),
      ),
    );
  program
    .command('release')
    .description("end a lease: a port, or every lease of a service's")
    .argument('<port|service>')
    .action((what: string) =>
      lazy(
        () => import('./commands/registry-commands.ts'),
        (m) => m.releaseCommand(what, io),
      ),
    );
  program
    .command('leases')
    .description('the live leases')
    .option('--json', 'one JSON object on stdout')
    .action((o: { json?: boolean }) =>
      lazy(
        () => import('./commands/registry-commands.ts'),
        (m) => m.leasesCommand(o, io),
      ),
    );
  program
    .command('lookup')
    .description(
      'the local port of a service: a lease, a forward label, a remote process name or host:remote_port (exit 1: none)',
    )
    .argument('<service>')
    .option('--url', 'print http://ADDRESS:PORT')
    .option('--json', 'everything known about it, as JSON')
    .action((service: string, o: { url?: boolean; json?: boolean }) =>
      lazy(
        () => import('./commands/registry-commands.ts'),
        (m) => m.lookupCommand(service, o, io),
      ),
    );
  program
    .command('run')
    .description('lease a port, run a command with it in $PORT, renew while it runs, release when it ends')
    .usage('<service> [options] -- <command...>')
    .argument('<service>')
    .option('--env-name <name>', 'the variable that carries the port', 'PORT')
    .option('--ttl <seconds>', 'the lease TTL (renewed every third of it)', ttl, 30)
    .option('--port <n>', 'this port rather than any free one', port)
    .option('--needs <services...>', 'wait until these answer, and pass NAME_PORT for each')
    .option('--needs-timeout <seconds>', 'how long to wait for --needs', ttl, 60)
    .action(
      (service: string, o: { envName: string; ttl: number; port?: number; needs?: string[]; needsTimeout: number }) =>
        lazy(
          () => import('./commands/run-command.ts'),
          (m) =>
            m.runCommand(
              service,
              runArgv,
              {
                envName: o.envName,
                ttl: o.ttl,
                needs: o.needs ?? [],
                needsTimeout: o.needsTimeout,
                ...(o.port === undefined ? {} : { port: o.port }),
              },
              io,
            ),
        ),
    );
  const connectionFlags = (c: Command) =>
    c
      .option('-i, --identity <file>', 'identity file (repeatable)', collect, [])
      .option('-J, --jump <hosts>', 'jump hosts [user@]host[:port],... (like ssh -J)')
      .option('-F, --ssh-config <file>', 'ssh_config file to read instead of ~/.ssh/config')
      .option('-o <option>', 'ssh option Key=value (repeatable)', collect, [])
      .option('--password-file <file>', 'the password, for hosts without keys: a file of yours, mode 0600');
  connectionFlags(
    program
      .command('exec')
      .description(
        "run a command on a host over the daemon's connection (no new SSH handshake); exit code and signals pass through",
      )
      .usage('<target> [options] -- <command...>')
      .argument('<target>', "a host of the daemon's (id or target), or any [user@]host[:port] (connected on demand)")
      .option('-t, --tty', 'a pseudo-terminal for the command, following this terminal’s size (like ssh -t)')
      .option('-n, --no-stdin', 'send no input (stdin from /dev/null, like ssh -n)')
      .option(
        '--persist <seconds>',
        'keep an on-demand connection this long after the command (like ControlPersist; default: close it)',
        lines,
      ),
  ).action((target: string, o) =>
    lazy(
      () => import('./commands/exec-command.ts'),
      (m) => m.execCommand(target, execArgv, { ...o, stdinNull: o.stdin === false }, io),
    ),
  );
  connectionFlags(
    program
      .command('cp')
      .description("copy files over SFTP on the daemon's connection, like scp (mode and times kept, links followed)")
      .usage('[options] SOURCE... DEST   (host:path on one side)')
      .argument('<paths...>', 'sources then the destination; the remote side is [user@]host:path')
      .option('-r, --recursive', 'copy directories and what they hold')
      .option('-q, --quiet', 'no progress bar')
      .option('--persist <seconds>', 'keep an on-demand connection this long after the copy', lines),
  ).action((paths: string[], o) =>
    lazy(
      () => import('./commands/cp-command.ts'),
      (m) => m.cpCommand(paths, o, io),
    ),
  );
  connectionFlags(
    program
      .command('test')
      .description(
        'check a host end to end on a fresh connection: connect, auth, exec true, one channel open, each timed (exit 1: a step failed)',
      )
      .argument('<target>', '[user@]host[:port] or an ssh_config Host alias')
      .option('--json', 'one JSON object: target, ok, ms, steps'),
  ).action((target: string, o) =>
    lazy(
      () => import('./commands/test-command.ts'),
      (m) => m.testCommand(target, o, io),
    ),
  );
  return program;
}

/** The command of `exec`, after its `--` (or its operands after the target). */
let execArgv: string[] = [];

/** The command of `run`, after its `--` (set before parsing: commander never sees it). */
let runArgv: string[] = [];

/** exec's options with values (the word after them is not the target). */
const EXEC_VALUE_OPTIONS = new Set([
  '-i',
  '--identity',
  '-J',
  '--jump',
  '-F',
  '--ssh-config',
  '-o',
  '--password-file',
  '--persist',
]);

/** `exec [opts] target cmd args...`: the options and the target, then the command (its own options untouched). */
export function splitExecOperands(args: string[]): { options: string[]; command: string[] } {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (EXEC_VALUE_OPTIONS.has(a)) i++;
    else if (!a.startsWith('-')) return { options: args.slice(0, i + 1), command: args.slice(i + 1) };
  }
  return { options: args, command: [] };
}

function wholeSeconds(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 30 * 24 * 3600)
    throw new InvalidArgumentError('expected a whole number of seconds from 1 to 2592000');
  return n;
}

function port(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port from 1 to 65535');
  return n;
}

/** Runs a daemon command; resolves with the exit code, never throws. */
export async function runCommand(argv: string[], env: NodeJS.ProcessEnv, runIo: RunIo): Promise<number> {
  const io: CommandIo = { ...runIo, env, cwd: process.cwd() };
  try {
    if (argv[0] === 'connect') {
      // the foreground command's options, parsed by its own parser
      if (argv.length === 1)
        throw Object.assign(new Error('connect: name a host ([user@]host[:port])'), { exitCode: 2 });
      const { connectCommand } = await import('./commands/connect-command.ts');
      return await connectCommand(argv.slice(1), io);
    }
    if (argv[0] === 'run') {
      const dash = argv.indexOf('--');
      if (dash < 0 && !argv.includes('--help') && !argv.includes('-h'))
        throw Object.assign(new Error('run: put the command after --: port-linker run <service> -- <command...>'), {
          exitCode: 2,
        });
      if (dash >= 0) {
        runArgv = argv.slice(dash + 1);
        argv = argv.slice(0, dash);
      }
    }
    if (argv[0] === 'exec') {
      const dash = argv.indexOf('--');
      if (dash >= 0) {
        execArgv = argv.slice(dash + 1);
        argv = argv.slice(0, dash);
      } else {
        // `exec host cmd args...` as with ssh: everything after the target is the command
        const rest = splitExecOperands(argv.slice(1));
        execArgv = rest.command;
        argv = ['exec', ...rest.options];
      }
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
