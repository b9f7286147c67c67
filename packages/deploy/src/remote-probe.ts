import { DeployError } from './errors.ts';
import type { RemoteSession } from './remote-session.ts';
import { shellQuote } from './shell-quote.ts';

/** `uname -s`/`uname -m` pairs -> Node's platform-arch names; anything else is an unknown platform. */
const UNAME_PLATFORMS: ReadonlyArray<readonly [string, string, string]> = [
  ['Linux', 'x86_64', 'linux-x64'],
  ['Linux', 'amd64', 'linux-x64'],
  ['Linux', 'aarch64', 'linux-arm64'],
  ['Linux', 'arm64', 'linux-arm64'],
  ['Darwin', 'x86_64', 'darwin-x64'],
  ['Darwin', 'arm64', 'darwin-arm64'],
];

/** Node's name for a `uname -s`, `uname -m` pair: `Linux x86_64` -> `linux-x64`; others lowercased as they are. */
export function platformOf(os: string, arch: string): string {
  const known = UNAME_PLATFORMS.find(([o, a]) => o === os && a === arch);
  return known ? known[2] : `${os.toLowerCase() || 'unknown'}-${arch || 'unknown'}`;
}

/** The oldest remote Node the bundled script supports. */
export const MIN_NODE_MAJOR = 18;

/**
 * Shell prelude shared by the probe and install scripts (POSIX sh, fed on stdin to `sh -s` so the
 * user's login shell does not matter). `umask 077` makes every file and directory private; the cache
 * is `${XDG_CACHE_HOME:-$HOME/.cache}/port-linker/agents`. `sha_of` picks sha256sum, shasum or openssl.
 * `verify NAME [signed]` says ok when the file's sha256 is its name, bad for anything else there (another hash, a
 * directory, a dangling link); with `signed` (the executable), on macOS only, also ok when it is the hash recorded
 * in `NAME.signed` after the ad-hoc codesign (remote-install.ts). Nothing else writes `.signed`: a tampered script
 * or QUIC file next to a forged record of its own hash is bad.
 */
export const SHELL_PRELUDE = `set -u
umask 077
PATH="$PATH:/usr/local/bin:/opt/homebrew/bin"; export PATH
cache_base="\${XDG_CACHE_HOME:-$HOME/.cache}"
dir="$cache_base/port-linker/agents"
hash_tool=
if command -v sha256sum >/dev/null 2>&1; then hash_tool=sha256sum
elif command -v shasum >/dev/null 2>&1; then hash_tool=shasum
elif command -v openssl >/dev/null 2>&1; then hash_tool=openssl; fi
sha_of() {
  case "$hash_tool" in
    sha256sum) sha256sum "$1" ;;
    shasum) shasum -a 256 "$1" ;;
    openssl) openssl dgst -sha256 -r "$1" ;;
    *) return 1 ;;
  esac | { read -r h _ && printf '%s' "$h"; }
}
verify() {
  f="$dir/$1"
  [ -e "$f" ] || [ -L "$f" ] || { echo missing; return 0; }
  [ -f "$f" ] || { echo bad; return 0; }
  h=$(sha_of "$f") || { echo unverifiable; return 0; }
  if [ "$h" = "\${1##*/}" ] || { [ "\${2:-}" = signed ] && [ "$(uname -s)" = Darwin ] && [ -f "$f.signed" ] && [ "$h" = "$(cat "$f.signed")" ]; }; then
    touch "$f"; echo ok
  else echo bad; fi
}
`;

/** State of one cached agent file on the remote. */
export type CacheState = 'ok' | 'missing' | 'bad' | 'unverifiable' | 'unchecked';

/** What one probe round trip learned about the remote. */
export interface RemoteFacts {
  os: string;
  arch: string;
  /** `linux-x64`, `darwin-arm64`, ... (`<os>-<arch>` lowercased when unknown). */
  platform: string;
  /** Absolute path of `node` on the remote PATH, if any. */
  nodePath: string | undefined;
  /** `20.20.2` (no `v`), if node answered. */
  nodeVersion: string | undefined;
  /** Node >= 18 is there. */
  nodeUsable: boolean;
  /** Absolute cache directory (created, 0700), or undefined with `cacheError`. */
  cacheDir: string | undefined;
  cacheError: string | undefined;
  hashTool: 'sha256sum' | 'shasum' | 'openssl' | undefined;
  gzip: boolean;
  /** A file in the cache directory can be executed (false on a noexec mount). */
  execAllowed: boolean;
  cachedScript: CacheState;
  cachedBinary: CacheState;
  /** Present (true) when the probe went on to exec the cached node agent in its channel. */
  agentStarted?: true;
  /** With `agentStarted`: it was started with the cached QUIC files (`--quic-bundle/--quic-addon`). */
  agentStartedWithQuic?: true;
  /** Only when QUIC was asked for: the remote can load the QUIC addon (linux-x64, glibc >= 2.34). */
  quicPlatform?: boolean;
  /** `2.36` from `getconf GNU_LIBC_VERSION` (asked only with QUIC, on Linux). */
  glibc?: string;
  /** Only when QUIC was asked for on a QUIC platform: the cached `quic/<sha>` files. */
  cachedQuicBundle?: CacheState;
  cachedQuicAddon?: CacheState;
}

/** What the probe should check in the cache. */
export interface ProbeRequest {
  /** SHA-256 of the bundled script; checked when the remote has a usable Node. */
  scriptSha256?: string;
  /** SHA-256 of each platform's executable; the one for the remote's platform is checked when `checkBinary` says. */
  binarySha256: Record<string, string>;
  /** `always`, or only when node is not usable (`auto`: hashing a 90 MB file costs time), or `never`. */
  checkBinary: 'always' | 'if-no-node' | 'never';
  /**
   * Agent arguments (`agentArgs()`): when set and the remote node is usable with the cached script
   * verified, the probe ends with `probe=agent` and execs the agent in its own channel (stdin: frames).
   */
  startArgs?: string;
  /**
   * The host asks for QUIC: report whether the remote can load the addon (`quic_platform`, glibc) and verify the
   * cached `quic/<sha>` files; an early start then passes them to the agent, and happens only when both verify.
   */
  quic?: { bundleSha256?: string; addonSha256?: string };
}

/** Oldest glibc the QUIC addon links against (`objdump -T quic-linux-x64.node`: GLIBC_2.34). */
export const QUIC_MIN_GLIBC = [2, 34] as const;

/** The probe script: platform, node, hash tool, gzip, cache dir, noexec test, cached files; `key=value` lines. */
export function probeScript(request: ProbeRequest): string {
  const arms = UNAME_PLATFORMS.filter(([, , p]) => request.binarySha256[p])
    .map(([o, a, p]) => `  ${shellQuote(`${o}/${a}`)}) bin_sha=${shellQuote(request.binarySha256[p] ?? '')} ;;`)
    .join('\n');
  return `${SHELL_PRELUDE}
os=$(uname -s 2>/dev/null) || os=
arch=$(uname -m 2>/dev/null) || arch=
echo "os=$os"
echo "arch=$arch"
cached_script=
quic=no
quic_cached=no
${request.quic ? QUIC_PLATFORM_CHECK : ''}
node_path=$(command -v node 2>/dev/null) || node_path=
node_version=
node_id=
node_seen=no
if [ -n "$node_path" ]; then
  # node --version costs a Node start: reuse the answer while ls -Lli (inode, size, mtime) of node is unchanged
  node_id=$(ls -Lli "$node_path" 2>/dev/null) || node_id=
  if [ -n "$node_id" ] && [ -f "$dir/node-version" ] && { read -r seen_id && read -r seen_version; } < "$dir/node-version" && [ "$seen_id" = "$node_id" ]; then
    node_version=$seen_version; node_seen=yes
  else node_version=$(NODE_OPTIONS= "$node_path" --version 2>/dev/null) || node_version=; fi
fi
node_version=\${node_version#v}
node_ok=no
major=\${node_version%%.*}
case "$major" in ''|*[!0-9]*) ;; *) [ "$major" -ge ${MIN_NODE_MAJOR} ] && node_ok=yes ;; esac
echo "node=$node_path"
echo "node_version=$node_version"
echo "node_ok=$node_ok"
echo "hash=$hash_tool"
if command -v gzip >/dev/null 2>&1; then echo gzip=yes; else echo gzip=no; fi
if mkdir -p "$dir" 2>/dev/null && chmod 700 "$cache_base/port-linker" "$dir" 2>/dev/null && [ -w "$dir" ]; then
  echo "cache=$dir"
  # the node-mode agent is an extensionless CommonJS file: stop Node's package.json lookup here, so a
  # {"type": "module"} in a parent directory (a JS project in $HOME) cannot turn it into ESM
  [ -f "$dir/package.json" ] || printf '{"type":"commonjs"}\n' > "$dir/package.json"
  if [ "$node_seen" = no ] && [ -n "$node_id" ] && [ -n "$node_version" ]; then
    printf '%s\n%s\n' "$node_id" "$node_version" > "$dir/node-version"
  fi
  t="$dir/.exec-test-$$"
  if printf '#!/bin/sh\\nexit 0\\n' > "$t" && chmod 700 "$t" && "$t" 2>/dev/null; then echo exec=yes; else echo exec=no; fi
  rm -f "$t"
  script_sha=${shellQuote(request.scriptSha256 ?? '')}
  if [ -n "$script_sha" ] && [ "$node_ok" = yes ]; then cached_script=$(verify "$script_sha"); echo "cached_script=$cached_script"; fi
  bin_sha=
  case "$os/$arch" in
${arms || "  '') ;;"}
  esac
  check_bin=${request.checkBinary}
  if [ -n "$bin_sha" ] && { [ "$check_bin" = always ] || { [ "$check_bin" = if-no-node ] && [ "$node_ok" = no ]; }; }; then
    echo "cached_binary=$(verify "$bin_sha" signed)"
  fi
${request.quic ? quicCacheCheck(request.quic) : ''}
else
  echo "cache_error=cannot create $dir (mode 0700)"
fi
${request.startArgs === undefined ? 'echo probe=done; exit 0' : startTail(request.startArgs, Boolean(request.quic?.bundleSha256 && request.quic.addonSha256))}
`;
}

/** Sets `quic=yes` when the remote is linux-x64 with glibc >= QUIC_MIN_GLIBC (the addon's prebuilt target). */
const QUIC_PLATFORM_CHECK = `if [ "$os" = Linux ] && [ "$arch" = x86_64 ]; then
  glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null) || glibc=
  glibc=\${glibc#glibc }
  echo "glibc=$glibc"
  g_major=\${glibc%%.*}; g_minor=\${glibc#*.}; g_minor=\${g_minor%%.*}
  case "$g_major.$g_minor" in
    *[!0-9.]*|.*|*.) ;;
    *) if [ "$g_major" -gt ${QUIC_MIN_GLIBC[0]} ] || { [ "$g_major" -eq ${QUIC_MIN_GLIBC[0]} ] && [ "$g_minor" -ge ${QUIC_MIN_GLIBC[1]} ]; }; then quic=yes; fi ;;
  esac
fi
echo "quic_platform=$quic"`;

/** Verifies the cached QUIC files under `$dir/quic/` (0700); `quic_cached=yes` when both are there. */
function quicCacheCheck(q: NonNullable<ProbeRequest['quic']>): string {
  if (!q.bundleSha256 || !q.addonSha256) return '';
  return `  if [ "$quic" = yes ] && mkdir -p "$dir/quic" 2>/dev/null; then
    qb=${shellQuote(q.bundleSha256)}; qa=${shellQuote(q.addonSha256)}
    qb_state=$(verify "quic/$qb"); qa_state=$(verify "quic/$qa")
    echo "cached_quic_bundle=$qb_state"; echo "cached_quic_addon=$qa_state"
    [ "$qb_state" = ok ] && [ "$qa_state" = ok ] && quic_cached=yes
  fi`;
}

/**
 * The probe's end when it may start the agent: the \`exec\` must be in the script's last command, so
 * that nothing of the script is left on stdin for the agent (\`sh -s\` reads no further than it runs).
 * With QUIC asked for on a QUIC platform, it starts only when the QUIC files verified (else the host
 * uploads them first), and then with them.
 */
function startTail(args: string, quic: boolean): string {
  const start = `exec env NODE_OPTIONS= "$node_path" "$dir/$script_sha" ${args}`;
  if (!quic) {
    return `if [ "$cached_script" = ok ] && [ "$node_ok" = yes ]; then echo probe=agent; else echo probe=done; exit 0; fi
${start}`;
  }
  return `if [ "$cached_script" = ok ] && [ "$node_ok" = yes ] && { [ "$quic" = no ] || [ "$quic_cached" = yes ]; }; then :; else echo probe=done; exit 0; fi
if [ "$quic" = yes ]; then echo probe=agent-quic; ${start} --quic-bundle "$dir/quic/$qb" --quic-addon "$dir/quic/$qa"; else echo probe=agent; ${start}; fi`;
}

const CACHE_STATES = new Set<CacheState>(['ok', 'missing', 'bad', 'unverifiable']);

/** Parses the probe's `key=value` lines. Throws DeployError when the output is cut short. */
export function parseProbeOutput(text: string): RemoteFacts {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) kv.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const end = kv.get('probe');
  if (end !== 'done' && end !== 'agent' && end !== 'agent-quic') {
    throw new DeployError('probe', `remote probe did not finish: ${JSON.stringify(text.slice(-200))}`);
  }
  const os = kv.get('os') ?? '';
  const arch = kv.get('arch') ?? '';
  const hash = kv.get('hash');
  const state = (key: string): CacheState => {
    const v = kv.get(key) as CacheState | undefined;
    return v && CACHE_STATES.has(v) ? v : 'unchecked';
  };
  return {
    os,
    arch,
    platform: platformOf(os, arch),
    nodePath: kv.get('node') || undefined,
    nodeVersion: kv.get('node_version') || undefined,
    nodeUsable: kv.get('node_ok') === 'yes',
    cacheDir: kv.get('cache') || undefined,
    cacheError: kv.get('cache_error') || undefined,
    hashTool: hash === 'sha256sum' || hash === 'shasum' || hash === 'openssl' ? hash : undefined,
    gzip: kv.get('gzip') === 'yes',
    execAllowed: kv.get('exec') === 'yes',
    cachedScript: state('cached_script'),
    cachedBinary: state('cached_binary'),
    ...(end === 'agent' || end === 'agent-quic' ? { agentStarted: true as const } : {}),
    ...(end === 'agent-quic' ? { agentStartedWithQuic: true as const } : {}),
    ...(kv.has('quic_platform') ? { quicPlatform: kv.get('quic_platform') === 'yes' } : {}),
    ...(kv.get('glibc') ? { glibc: kv.get('glibc') } : {}),
    ...(kv.has('cached_quic_bundle') ? { cachedQuicBundle: state('cached_quic_bundle') } : {}),
    ...(kv.has('cached_quic_addon') ? { cachedQuicAddon: state('cached_quic_addon') } : {}),
  };
}

/** Runs the probe: one exec round trip. */
export async function probeRemote(session: RemoteSession, request: ProbeRequest): Promise<RemoteFacts> {
  let result: Awaited<ReturnType<RemoteSession['exec']>>;
  try {
    result = await session.exec('sh -s', { stdin: probeScript(request), timeoutMs: 30_000 });
  } catch (cause) {
    throw new DeployError('probe', `remote probe failed: ${(cause as Error).message}`, { cause });
  }
  if (result.code !== 0) {
    throw new DeployError('probe', `remote probe exited ${result.code}: ${result.stderr.trim().slice(0, 300)}`);
  }
  return parseProbeOutput(result.stdout.toString('utf8'));
}
