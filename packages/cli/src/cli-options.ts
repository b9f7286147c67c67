import { isIP } from 'node:net';
import { LoopbackAddresses } from '@port-linker/engine';
import { ErrorCode, PortLinkerError } from '@port-linker/proto';
import { Command, CommanderError, Option } from 'commander';
import { type Level, type LogFormat, parseLevel } from './logger.ts';

/** Everything the command line asks for, validated. */
export interface CliConfig {
  /** Every host to mirror, as written (`port-linker a b c`). */
  targets: string[];
  /** Saved profiles to mirror too (`--profile`), from `profileFile` or the usual places. */
  profiles: string[];
  profileFile?: string;
  ports?: string;
  exclude?: string;
  defaultExcludes: boolean;
  protocol: 'tcp' | 'udp' | 'both';
  transport: 'auto' | 'stdio' | 'tcp' | 'quic';
  /** How forwarded TCP connections travel: auto (direct to the agent when measured no slower), direct, ssh. */
  dataPath: 'auto' | 'direct' | 'ssh' | 'openssh';
  localForwards: string[];
  /** `-R` forwards (remote listeners whose connections come back here). */
  remoteForwards: string[];
  /** `-D` forwards (local SOCKS servers). */
  dynamicForwards: string[];
  /** Local address of mirrored ports (a loopback address, or `auto`: one 127.0.0.N per host). */
  bindAddress?: string;
  auto: boolean;
  conflict: 'remap' | 'skip' | 'kill';
  agent: 'auto' | 'node' | 'binary' | 'none';
  identities: string[];
  jump?: string;
  sshConfig?: string;
  sshOptions: string[];
  /** A 0600 file with the password, for hosts without keys. */
  passwordFile?: string;
  json: boolean;
  logLevel: Level;
  logFormat: LogFormat;
  notify: boolean;
}

const loopbackAutoSupported = () => LoopbackAddresses.supported();

/** 127.0.0.0/8 or ::1. */
function isLoopback(addr: string): boolean {
  return (isIP(addr) === 4 && addr.startsWith('127.')) || addr === '::1';
}

/** A usage error: exit 2 with one line. */
export class CliUsageError extends PortLinkerError {
  constructor(message: string) {
    super(ErrorCode.Usage, message);
  }
}

/** Either a config to run, or text already printed for --help/--version (exit 0). */
export type ParseResult = { kind: 'run'; config: CliConfig } | { kind: 'exit'; code: number };

const EXAMPLES = `
Examples:
  port-linker dev@devbox                 mirror every TCP/UDP port of devbox to localhost
  port-linker devbox -p 3000,5173,8000-8999
                                         only these remote ports
  port-linker db.internal -J bastion --no-auto -L 5432:localhost:5432
                                         one explicit forward through a jump host (like ssh -N -L)
  port-linker devbox --no-auto -R 9000:localhost:3000 -D 1080 -L /tmp/app.sock:/var/run/app.sock
                                         a remote forward, a SOCKS proxy and a Unix socket (like ssh -R -D -L)
  port-linker vm --json | jq .           machine-readable events on stdout
  port-linker web db cache               three hosts at once (a busy local port is remapped, and remembered)

Exit codes: 0 stopped (Ctrl-C/SIGTERM), 2 usage error, 3 authentication or host-key failure,
4 could not connect on the first attempt, 1 anything else. With several hosts, the command fails only
when every host fails on its first attempt; the others keep running.`;

const collect = (value: string, previous: string[]) => [...previous, value];

/** The commander program (no side effects until parsed). */
export function buildProgram(version: string, write: { out: (s: string) => void; err: (s: string) => void }): Command {
  const program = new Command('port-linker')
    .description('Mirror every listening port of a remote host to localhost, over SSH.')
    .argument('[targets...]', '[user@]host[:port] or ssh_config Host aliases: every one is mirrored at once')
    .option(
      '-P, --profile <name>',
      'a saved profile to mirror, with its settings and port attributes (repeatable)',
      collect,
      [],
    )
    .option(
      '-f, --file <file>',
      'the profiles file (default: port-linker.yml here or above, then ~/.config/port-linker/profiles.yml)',
    )
    .version(version, '-V, --version')
    .option('-p, --ports <list>', 'only these remote ports/ranges, e.g. 3000,5173,8000-8999')
    .option('-x, --exclude <list>', 'never these ports (added to the defaults)')
    .option('--no-default-excludes', 'also mirror 22, 53, 111, 631, 5353, 41641')
    .addOption(
      new Option('--protocol <proto>', 'which protocols to mirror').choices(['tcp', 'udp', 'both']).default('both'),
    )
    .addOption(
      new Option('--transport <kind>', 'agent transport (auto = best offered)')
        .choices(['auto', 'stdio', 'tcp', 'quic'])
        .default('auto'),
    )
    .addOption(
      new Option(
        '--data-path <kind>',
        'how forwarded TCP travels: direct (TLS to the agent), ssh (channels), auto (direct when measured no slower), openssh (your ssh client carries it: a ControlMaster)',
      )
        .choices(['auto', 'direct', 'ssh', 'openssh'])
        .default('auto'),
    )
    .option(
      '-L <forward>',
      'local forward [bind:]port:host:hostport, [bind:]port:/remote.sock or /local.sock:host:hostport (repeatable)',
      collect,
      [],
    )
    .option(
      '-R <forward>',
      'remote forward [bind:]rport:host:hostport, [bind:]rport:/local.sock, /remote.sock:host:hostport, or [bind:]rport alone for a SOCKS proxy on the remote (repeatable; rport 0 = the server picks)',
      collect,
      [],
    )
    .option(
      '-D <forward>',
      'dynamic forward [bind:]port: a local SOCKS4/4a/5 proxy out of the remote (repeatable)',
      collect,
      [],
    )
    .option('--no-auto', 'explicit forwards only, no mirroring (like ssh -N -L)')
    .option(
      '--bind-address <addr>',
      'local address of mirrored ports: 127.0.0.1 (default, plus ::1), another loopback address, or auto (Linux: one 127.0.0.N per host, so every host keeps its port numbers)',
    )
    .addOption(
      new Option('--conflict <policy>', 'local port busy: remap to a free port, skip it, or kill its owner')
        .choices(['remap', 'skip', 'kill'])
        .default('remap'),
    )
    .addOption(
      new Option('--agent <mode>', 'how the remote agent runs (none = agentless scanning)')
        .choices(['auto', 'node', 'binary', 'none'])
        .default('auto'),
    )
    .option('-i, --identity <file>', 'identity file (repeatable)', collect, [])
    .option('-J, --jump <hosts>', 'jump hosts [user@]host[:port],... (like ssh -J)')
    .option('-F, --ssh-config <file>', 'ssh_config file to read instead of ~/.ssh/config')
    .option('-o <option>', 'ssh option Key=value, e.g. -o StrictHostKeyChecking=accept-new (repeatable)', collect, [])
    .option('--password-file <file>', 'the password, for hosts without keys: a file of yours, mode 0600')
    .option('--json', 'machine-readable events on stdout (logs stay on stderr)')
    .addOption(
      new Option('--log-level <level>', 'log detail (env PORT_LINKER_LOG overrides)')
        .choices(['error', 'warn', 'info', 'debug', 'trace'])
        .default('info'),
    )
    .addOption(
      new Option('--log-format <format>', 'log line format').choices(['pretty', 'compact', 'json']).default('pretty'),
    )
    .option('--no-notify', 'no desktop notifications (off anyway without a display)')
    .addHelpText('after', EXAMPLES)
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: write.out, writeErr: write.err, outputError: () => {} })
    .exitOverride();
  return program;
}

/** Parses argv (without node and script) into a config; throws CliUsageError with one line. */
export function parseCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  version: string,
  write: { out: (s: string) => void; err: (s: string) => void },
): ParseResult {
  const program = buildProgram(version, write);
  try {
    program.parse(argv as string[], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        return { kind: 'exit', code: 0 };
      }
      const text = err.message.replace(/^error: /, '').split('\n')[0] ?? err.message;
      throw new CliUsageError(`${text} (see port-linker --help)`);
    }
    throw err;
  }
  const o = program.opts();
  const envLevel = env.PORT_LINKER_LOG;
  if (envLevel !== undefined && envLevel !== '' && !parseLevel(envLevel)) {
    throw new CliUsageError(`PORT_LINKER_LOG=${envLevel} is not a level (use error, warn, info, debug or trace)`);
  }
  const targets = program.args;
  const profiles = o.profile as string[];
  if (targets.length === 0 && profiles.length === 0) {
    throw new CliUsageError("missing required argument 'targets' (name a host, or a saved profile with --profile)");
  }
  if (o.file !== undefined && profiles.length === 0)
    throw new CliUsageError('-f needs --profile NAME (which profile to run)');
  const everything = [...targets, ...profiles];
  for (const target of targets) {
    if (target.trim() === '' || target.startsWith('-')) {
      throw new CliUsageError(`"${target}" is not a host (use [user@]host[:port])`);
    }
  }
  const twice = everything.find((t, i) => everything.indexOf(t) !== i);
  if (twice !== undefined) throw new CliUsageError(`host ${twice} is named twice (name each host once)`);
  for (const opt of o.o as string[]) {
    if (!/^[A-Za-z][A-Za-z0-9]*(=|\s+)\S/.test(opt)) {
      throw new CliUsageError(`-o ${opt}: expected Option=value, e.g. -o StrictHostKeyChecking=accept-new`);
    }
  }
  const bindAddress = o.bindAddress as string | undefined;
  if (bindAddress !== undefined) {
    if (bindAddress === 'auto' && !loopbackAutoSupported()) {
      throw new CliUsageError(
        '--bind-address auto needs Linux (it binds 127.0.0.2, 127.0.0.3, ...); use --bind-address 127.0.0.1 here',
      );
    }
    if (bindAddress !== 'auto' && !isLoopback(bindAddress)) {
      throw new CliUsageError(
        `--bind-address ${bindAddress}: port-linker listens on loopback only (use 127.0.0.x, ::1 or auto)`,
      );
    }
  }
  return {
    kind: 'run',
    config: {
      targets,
      profiles,
      ...(o.file === undefined ? {} : { profileFile: o.file }),
      ports: o.ports,
      exclude: o.exclude,
      defaultExcludes: o.defaultExcludes,
      protocol: o.protocol,
      transport: o.transport,
      dataPath: o.dataPath,
      localForwards: o.L,
      remoteForwards: o.R,
      dynamicForwards: o.D,
      ...(bindAddress === undefined ? {} : { bindAddress }),
      auto: o.auto,
      conflict: o.conflict,
      agent: o.agent,
      identities: o.identity,
      jump: o.jump,
      sshConfig: o.sshConfig,
      sshOptions: o.o,
      ...(o.passwordFile === undefined ? {} : { passwordFile: o.passwordFile }),
      json: o.json === true,
      logLevel: parseLevel(envLevel) ?? o.logLevel,
      logFormat: o.logFormat,
      notify: o.notify,
    },
  };
}
