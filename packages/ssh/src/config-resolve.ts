import { homedir, hostname as osHostname, userInfo } from 'node:os';
import {
  type ConfigDirective,
  type ConfigFile,
  evaluateConfig,
  type OptionStore,
  parseOptionArg,
} from './config-evaluate.ts';
import { connectionHash, expandTilde, expandTokens, type TokenValues } from './config-tokens.ts';
import { SshUsageError } from './errors.ts';
import { resolveCiphers } from './ssh2-algorithms.ts';
import { parseJumpList, type SshTarget } from './target.ts';

/** Command-line SSH options (`-F`, `-i`, `-J`, `-p`, `-l`, `-o`); they override the config files. */
export interface SshCliOptions {
  configFile?: string;
  identities?: string[];
  jump?: string;
  port?: number;
  user?: string;
  /** Raw `-o Key=value` strings. */
  options?: string[];
}

/** StrictHostKeyChecking policies. */
export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'ask' | 'no';

/** Everything needed to connect to one host, resolved from the command line and ssh_config. */
export interface ResolvedHost {
  /** The host as typed (may be an alias). */
  alias: string;
  hostname: string;
  user: string;
  port: number;
  identityFiles: string[];
  identitiesOnly: boolean;
  /** Hops to go through, in order; the first may carry its own chain (from its config), later ones carry none. */
  proxyJump: ResolvedHost[];
  /** Seconds; 0 disables keepalives (default 15, where OpenSSH's is 0). */
  serverAliveInterval: number;
  serverAliveCountMax: number;
  /** Seconds for TCP connect + handshake, then again for login; prompt time not counted (default 20; OpenSSH: none). */
  connectTimeout: number;
  strictHostKeyChecking: StrictHostKeyChecking;
  userKnownHostsFiles: string[];
  /** Cipher list for ssh2 (undefined: ssh2's default). */
  ciphers?: string[];
  batchMode: boolean;
  /** LocalForward lines, raw (empty when ClearAllForwardings is set). */
  localForwards: string[];
  /** RemoteForward lines, raw (empty when ClearAllForwardings is set). */
  remoteForwards?: string[];
  /** DynamicForward lines, raw (empty when ClearAllForwardings is set). */
  dynamicForwards?: string[];
  /** ClearAllForwardings: the command line's -L/-R/-D are dropped too, as OpenSSH does. */
  clearAllForwardings?: boolean;
  /** ExitOnForwardFailure: a forward that cannot be set up ends the command instead of a warning. */
  exitOnForwardFailure?: boolean;
  /** GatewayPorts: local forwards without a bind address listen on every interface. */
  gatewayPorts?: boolean;
  /** StreamLocalBindMask (octal umask for Unix socket listeners; OpenSSH's default 0177). */
  streamLocalBindMask?: number;
  /** StreamLocalBindUnlink: remove a stale socket file before binding a local Unix socket listener. */
  streamLocalBindUnlink?: boolean;
  /** GlobalKnownHostsFile (read, never written); default /etc/ssh/ssh_known_hosts{,2}. */
  globalKnownHostsFiles?: string[];
  /** HashKnownHosts: write new known_hosts entries hashed. */
  hashKnownHosts?: boolean;
  /** IdentityAgent: agent socket path, or "none"; undefined means SSH_AUTH_SOCK. */
  identityAgent?: string;
  /** ProxyCommand (tokens expanded); its stdio carries the connection. */
  proxyCommand?: string;
  /** NumberOfPasswordPrompts (default 3). */
  numberOfPasswordPrompts?: number;
}

/** The local side for resolution; tests point `home` at a temp dir. */
export interface ResolveEnv {
  home?: string;
  user?: string;
  /** System config file; default /etc/ssh/ssh_config; null reads none. */
  systemConfigFile?: string | null;
}

const DEFAULT_IDENTITIES = ['~/.ssh/id_ed25519', '~/.ssh/id_ecdsa', '~/.ssh/id_rsa'];
const MAX_JUMP_DEPTH = 8;

/** Resolves a target through the command line and ssh_config exactly as OpenSSH's first-obtained-wins rules do. */
export function resolveHost(target: SshTarget, cli: SshCliOptions = {}, env: ResolveEnv = {}): ResolvedHost {
  return resolve(target, cli, env, 0, false);
}

function resolve(target: SshTarget, cli: SshCliOptions, env: ResolveEnv, depth: number, noJump: boolean): ResolvedHost {
  if (depth > MAX_JUMP_DEPTH)
    throw new SshUsageError(`ProxyJump chain for ${target.host} is deeper than ${MAX_JUMP_DEPTH} (loop?)`);
  const home = env.home ?? homedir();
  const localUser = env.user ?? safeUserName();
  const files: ConfigFile[] = [];
  if (cli.configFile !== undefined) {
    if (cli.configFile !== 'none')
      files.push({ path: expandTilde(cli.configFile, home), scope: 'user', required: true });
  } else {
    files.push({ path: `${home}/.ssh/config`, scope: 'user' });
    const system = env.systemConfigFile === undefined ? '/etc/ssh/ssh_config' : env.systemConfigFile;
    if (system !== null) files.push({ path: system, scope: 'system' });
  }

  const cmd = (key: string, value: string): ConfigDirective => ({
    key,
    args: [value],
    raw: value,
    source: 'command line',
  });
  const cliLines: ConfigDirective[] = [];
  if (cli.user !== undefined) cliLines.push(cmd('user', cli.user));
  if (cli.port !== undefined) cliLines.push(cmd('port', String(cli.port)));
  if (target.port !== undefined) cliLines.push(cmd('port', String(target.port)));
  for (const id of cli.identities ?? []) cliLines.push(cmd('identityfile', id));
  if (noJump) cliLines.push(cmd('proxyjump', 'none'));
  if (cli.jump !== undefined) cliLines.push(cmd('proxyjump', cli.jump));
  for (const o of cli.options ?? []) cliLines.push(parseOptionArg(o));
  if (target.user !== undefined) cliLines.push(cmd('user', target.user));

  const localHost = osHostname();
  const baseTokens: TokenValues = {
    d: home,
    u: localUser,
    i: String(process.getuid?.() ?? 0),
    l: localHost,
    L: localHost.split('.')[0] ?? localHost,
  };
  const store = evaluateConfig(files, cliLines, { originalHost: target.host, localUser, home, tokens: baseTokens });

  const hostnameRaw = store.get('hostname')?.args[0];
  // OpenSSH lowercases the host name once the config is read (Host lines saw it as typed)
  const hostname = (
    hostnameRaw ? expandTokens(hostnameRaw, { h: target.host }, 'HostName') : target.host
  ).toLowerCase();
  const user = store.get('user')?.args[0] ?? localUser;
  const port = intOption(store, 'port', 22, 1, 65535);
  const tokens: TokenValues = {
    ...baseTokens,
    h: hostname,
    n: target.host,
    p: String(port),
    r: user,
    k: store.get('hostkeyalias')?.args[0] ?? target.host,
    C: connectionHash(localHost, hostname, port, user),
  };
  const path = (raw: string, directive: string) => expandTilde(expandTokens(raw, tokens, directive), home);

  let identityFiles = store.all('identityfile').map((d) => d.args[0] ?? '');
  if (identityFiles.length === 0) identityFiles = DEFAULT_IDENTITIES;
  identityFiles = identityFiles.filter((f) => f.toLowerCase() !== 'none').map((f) => path(f, 'IdentityFile'));

  const knownHosts = (key: string, fallback: string[]): string[] => {
    const d = store.get(key);
    const list = d ? d.args.flatMap((a) => a.split(/\s+/)).filter((a) => a !== '') : fallback;
    if (list.length === 1 && list[0]?.toLowerCase() === 'none') return [];
    return list.map((f) =>
      path(f, d ? (key === 'userknownhostsfile' ? 'UserKnownHostsFile' : 'GlobalKnownHostsFile') : key),
    );
  };

  const resolved: ResolvedHost = {
    alias: target.host,
    hostname,
    user,
    port,
    identityFiles,
    identitiesOnly: boolOption(store, 'identitiesonly', false),
    proxyJump: [],
    serverAliveInterval: intOption(store, 'serveraliveinterval', 15, 0, 86_400),
    serverAliveCountMax: intOption(store, 'serveralivecountmax', 3, 1, 1000),
    connectTimeout:
      store.get('connecttimeout')?.args[0]?.toLowerCase() === 'none'
        ? 20
        : intOption(store, 'connecttimeout', 20, 1, 3600),
    strictHostKeyChecking: strictOption(store),
    userKnownHostsFiles: knownHosts('userknownhostsfile', ['~/.ssh/known_hosts', '~/.ssh/known_hosts2']),
    globalKnownHostsFiles: knownHosts('globalknownhostsfile', [
      '/etc/ssh/ssh_known_hosts',
      '/etc/ssh/ssh_known_hosts2',
    ]),
    batchMode: boolOption(store, 'batchmode', false),
    ...forwardOptions(store),
    hashKnownHosts: boolOption(store, 'hashknownhosts', false),
    numberOfPasswordPrompts: intOption(store, 'numberofpasswordprompts', 3, 0, 100),
  };
  const ciphers = store.get('ciphers');
  if (ciphers) resolved.ciphers = resolveCiphers(ciphers.raw, ciphers.source);
  const agent = store.get('identityagent');
  if (agent) {
    const v = agent.args[0] ?? '';
    if (v.toLowerCase() === 'none') resolved.identityAgent = 'none';
    else if (!/^\$?\{?SSH_AUTH_SOCK\}?$/.test(v)) resolved.identityAgent = path(v, 'IdentityAgent');
  }
  const proxyCommand = store.get('proxycommand');
  if (proxyCommand && proxyCommand.raw.toLowerCase() !== 'none') {
    resolved.proxyCommand = expandTokens(proxyCommand.raw, tokens, 'ProxyCommand');
  }
  const jump = store.get('proxyjump');
  if (jump && jump.raw.toLowerCase() !== 'none') {
    const hops = parseJumpList(jump.raw);
    const hopCli: SshCliOptions = cli.configFile !== undefined ? { configFile: cli.configFile } : {};
    resolved.proxyJump = hops.map((hop, i) => resolve(hop, hopCli, env, depth + 1, i > 0));
  }
  return resolved;
}

type ForwardOptions = Pick<
  ResolvedHost,
  | 'localForwards'
  | 'remoteForwards'
  | 'dynamicForwards'
  | 'clearAllForwardings'
  | 'exitOnForwardFailure'
  | 'gatewayPorts'
  | 'streamLocalBindMask'
  | 'streamLocalBindUnlink'
>;

/** The forwarding directives, as OpenSSH reads them (ClearAllForwardings drops every forward line). */
function forwardOptions(store: OptionStore): ForwardOptions {
  const clear = boolOption(store, 'clearallforwardings', false);
  const lines = (key: string) => (clear ? [] : store.all(key).map((d) => d.raw));
  const mask = store.get('streamlocalbindmask');
  let streamLocalBindMask = 0o177;
  if (mask) {
    const text = mask.args[0] ?? '';
    if (!/^[0-7]{1,4}$/.test(text))
      throw new SshUsageError(`bad StreamLocalBindMask "${text}" (${mask.source}): expected an octal mask like 0177`);
    streamLocalBindMask = Number.parseInt(text, 8) & 0o777;
  }
  return {
    localForwards: lines('localforward'),
    remoteForwards: lines('remoteforward'),
    dynamicForwards: lines('dynamicforward'),
    clearAllForwardings: clear,
    exitOnForwardFailure: boolOption(store, 'exitonforwardfailure', false),
    gatewayPorts: boolOption(store, 'gatewayports', false),
    streamLocalBindMask,
    streamLocalBindUnlink: boolOption(store, 'streamlocalbindunlink', false),
  };
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'root';
  }
}

function intOption(store: OptionStore, key: string, fallback: number, min: number, max: number): number {
  const d = store.get(key);
  if (!d) return fallback;
  const text = d.args[0] ?? '';
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new SshUsageError(`bad ${d.key} "${text}" (${d.source}): expected a number ${min}-${max}`);
  }
  return Number(text);
}

function boolOption(store: OptionStore, key: string, fallback: boolean): boolean {
  const d = store.get(key);
  if (!d) return fallback;
  const v = (d.args[0] ?? '').toLowerCase();
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  throw new SshUsageError(`bad ${d.key} "${d.args[0] ?? ''}" (${d.source}): expected yes or no`);
}

function strictOption(store: OptionStore): StrictHostKeyChecking {
  const d = store.get('stricthostkeychecking');
  if (!d) return 'ask';
  const v = (d.args[0] ?? '').toLowerCase();
  if (v === 'yes' || v === 'true') return 'yes';
  if (v === 'no' || v === 'false' || v === 'off') return 'no';
  if (v === 'ask' || v === 'accept-new') return v;
  throw new SshUsageError(
    `bad StrictHostKeyChecking "${d.args[0] ?? ''}" (${d.source}): expected yes, accept-new, ask or no`,
  );
}
