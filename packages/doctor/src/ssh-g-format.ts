import type { ResolvedHost } from '@port-linker/ssh';
import type { TracedHost } from './ssh-config-step.ts';
import { unsupportedMessages } from './unsupported-options.ts';

/**
 * The ssh_config keywords port-linker acts on, in the order `--config` prints them (each as `ssh -G` spells its
 * value). test/doctor-config.test.ts diffs exactly these against `ssh -G`.
 */
export const CONFIG_KEYWORDS = [
  'host',
  'user',
  'hostname',
  'port',
  'batchmode',
  'clearallforwardings',
  'exitonforwardfailure',
  'gatewayports',
  'hashknownhosts',
  'identitiesonly',
  'streamlocalbindunlink',
  'stricthostkeychecking',
  'numberofpasswordprompts',
  'serveralivecountmax',
  'serveraliveinterval',
  'ciphers',
  'identityagent',
  'dynamicforward',
  'localforward',
  'remoteforward',
  'identityfile',
  'globalknownhostsfile',
  'userknownhostsfile',
  'connecttimeout',
  'streamlocalbindmask',
  'proxycommand',
  'proxyjump',
] as const;

const yesNo = (b: boolean | undefined) => (b ? 'yes' : 'no');

/** The first value obtained for `key` while evaluating the target (what won), as written. */
function winning(t: TracedHost, key: string): string | undefined {
  for (const e of t.trace) {
    if (e.kind !== 'option' || e.host !== t.host.alias) continue;
    if (e.text === key || e.text.startsWith(`${key} `)) return e.text.slice(key.length + 1);
  }
  return undefined;
}

/** Splits a forward's address `[v6]:port`, `host:port`, `port` or a socket path. */
function splitAddress(text: string): { host?: string; port?: string; path?: string } {
  if (text.startsWith('/') || text.startsWith('~')) return { path: text };
  const v6 = /^\[([^\]]*)\]:(.+)$/.exec(text);
  if (v6) return { host: v6[1] ?? '', port: v6[2] ?? '' };
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { port: text };
  return { host: text.slice(0, colon), port: text.slice(colon + 1) };
}

/** A listen address as ssh -G prints it: `port`, `[bind]:port` (IPv6 kept in its brackets), or a path. */
function listenText(text: string): string {
  const a = splitAddress(text);
  if (a.path !== undefined) return a.path;
  return a.host === undefined || a.host === '' ? (a.port ?? '') : `[${a.host}]:${a.port}`;
}

/** A connect address as ssh -G prints it: `[host]:port`, or a path. */
function connectText(text: string): string {
  const a = splitAddress(text);
  if (a.path !== undefined) return a.path;
  return `[${a.host ?? ''}]:${a.port ?? ''}`;
}

/** `LocalForward a b` / `RemoteForward a [b]` / `DynamicForward a` as ssh -G prints them. */
export function forwardText(kind: 'local' | 'remote' | 'dynamic', raw: string): string {
  let args = raw.trim().split(/\s+/);
  // the single-argument form `8080:host:80` (accepted by OpenSSH in ssh_config too)
  if (kind !== 'dynamic' && args.length === 1 && args[0]) {
    const m = /^(.*?):((?:\[[^\]]*\]|[^:[\]]+):\d+|\/.*)$/.exec(args[0]);
    if (m && m[1] !== undefined && m[2] !== undefined) args = [m[1], m[2]];
  }
  const [listen = '', connect] = args;
  if (kind === 'dynamic') return listenText(listen);
  if (connect === undefined) return `${listenText(listen)} [socks]:0`; // a remote SOCKS forward
  return `${listenText(listen)} ${connectText(connect)}`;
}

/** `streamlocalbindmask`: OpenSSH prints `0%o` (0177, 022). */
function maskText(mask: number | undefined): string {
  return `0${(mask ?? 0o177).toString(8)}`;
}

/**
 * The effective settings port-linker uses, in `ssh -G` format (lowercase keyword, space, value; one per line).
 * Values are after token and `~` expansion (OpenSSH prints IdentityFile and ProxyCommand before expanding them).
 */
export function sshGLines(t: TracedHost): string[] {
  const h: ResolvedHost = t.host;
  const out: string[] = [];
  const add = (k: (typeof CONFIG_KEYWORDS)[number], v: string) => out.push(`${k} ${v}`);
  add('host', h.alias);
  add('user', h.user);
  add('hostname', h.hostname);
  add('port', String(h.port));
  add('batchmode', yesNo(h.batchMode));
  add('clearallforwardings', yesNo(h.clearAllForwardings));
  add('exitonforwardfailure', yesNo(h.exitOnForwardFailure));
  add('gatewayports', yesNo(h.gatewayPorts));
  add('hashknownhosts', yesNo(h.hashKnownHosts));
  add('identitiesonly', yesNo(h.identitiesOnly));
  add('streamlocalbindunlink', yesNo(h.streamLocalBindUnlink));
  const strict = { yes: 'true', no: 'false', ask: 'ask', 'accept-new': 'accept-new' } as const;
  add('stricthostkeychecking', strict[h.strictHostKeyChecking]);
  add('numberofpasswordprompts', String(h.numberOfPasswordPrompts ?? 3));
  add('serveralivecountmax', String(h.serverAliveCountMax));
  add('serveraliveinterval', String(h.serverAliveInterval));
  if (h.ciphers) add('ciphers', h.ciphers.join(','));
  const agent = winning(t, 'identityagent');
  if (agent !== undefined) add('identityagent', h.identityAgent ?? agent);
  for (const f of h.dynamicForwards ?? []) add('dynamicforward', forwardText('dynamic', f));
  for (const f of h.localForwards) add('localforward', forwardText('local', f));
  for (const f of h.remoteForwards ?? []) add('remoteforward', forwardText('remote', f));
  for (const f of h.identityFiles) add('identityfile', f);
  add('globalknownhostsfile', (h.globalKnownHostsFiles ?? []).join(' ') || 'none');
  add('userknownhostsfile', h.userKnownHostsFiles.join(' ') || 'none');
  add('connecttimeout', String(h.connectTimeout));
  add('streamlocalbindmask', maskText(h.streamLocalBindMask));
  if (h.proxyCommand) add('proxycommand', h.proxyCommand);
  else {
    const jump = winning(t, 'proxyjump');
    if (jump !== undefined && jump.toLowerCase() !== 'none' && h.proxyJump.length > 0) add('proxyjump', jump);
  }
  return out;
}

/** The `--config` notes (stderr): keywords set but not supported, and defaults that differ from OpenSSH's. */
export function configNotes(t: TracedHost): string[] {
  const notes = unsupportedMessages(t.trace, t.host.alias);
  if (winning(t, 'serveraliveinterval') === undefined)
    notes.push("serveraliveinterval 15 is port-linker's default (OpenSSH: 0, no keepalives)");
  if (winning(t, 'connecttimeout') === undefined)
    notes.push("connecttimeout 20 is port-linker's default (OpenSSH: none)");
  if (t.host.identityFiles.length > 0 && winning(t, 'identityfile') === undefined)
    notes.push('identityfile: the defaults are id_ed25519, id_ecdsa, id_rsa (ssh2 has no DSA, XMSS or security keys)');
  return notes;
}
