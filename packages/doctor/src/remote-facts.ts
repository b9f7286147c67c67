import {
  AGENT_PLATFORMS,
  type AgentArtifacts,
  type CacheState,
  MIN_NODE_MAJOR,
  probeRemote,
  type RemoteFacts,
  type RemoteSession,
  shellQuote,
} from '@port-linker/deploy';
import { fail, pass, type StepOutcome, skip } from './step-result.ts';

/** One probe round trip, asking for everything (the node script, every executable, the QUIC files). */
export async function probeFacts(session: RemoteSession, artifacts: AgentArtifacts): Promise<RemoteFacts> {
  const binarySha256: Record<string, string> = {};
  for (const p of artifacts.platforms()) {
    const b = artifacts.binary(p);
    if (b) binarySha256[p] = b.sha256;
  }
  const quic = artifacts.quic('linux-x64');
  return probeRemote(session, {
    scriptSha256: artifacts.script()?.sha256,
    binarySha256,
    checkBinary: 'always',
    quic: quic ? { bundleSha256: quic.bundle.sha256, addonSha256: quic.addon.sha256 } : {},
  });
}

const hasBinaryPlatform = (f: RemoteFacts) => (AGENT_PLATFORMS as readonly string[]).includes(f.platform);
const INSTALL_NODE = `install Node >= ${MIN_NODE_MAJOR} on the remote (its package manager or nodejs.org), on the PATH of a non-interactive shell`;

/** Remote platform: can some agent run there? */
export function platformOutcome(f: RemoteFacts): StepOutcome {
  const uname = `${f.os || '?'} ${f.arch || '?'}`;
  if (hasBinaryPlatform(f)) return pass(`${f.platform} (uname ${uname}): the executable agent exists for it`);
  if (f.nodeUsable) return pass(`${f.platform} (uname ${uname}): no executable for it, the node agent runs`);
  return fail(
    `${f.platform} (uname ${uname}): no agent executable is built for it and the remote has no usable Node`,
    `${INSTALL_NODE} (the node agent runs on any CPU); until then port-linker scans agentless (TCP only, every >= 1 s)`,
  );
}

/** Remote Node: version and path, or why it is missing (fatal only when the executable cannot stand in). */
export function nodeOutcome(f: RemoteFacts): StepOutcome {
  if (f.nodeUsable) return pass(`node ${f.nodeVersion} at ${f.nodePath}`);
  const what = f.nodePath
    ? `node ${f.nodeVersion ?? '(no version)'} at ${f.nodePath} is older than ${MIN_NODE_MAJOR}`
    : 'no node on the PATH of a non-interactive shell';
  if (hasBinaryPlatform(f)) return skip(`${what}: the ${f.platform} executable agent runs instead (uploaded once)`);
  return fail(what, INSTALL_NODE);
}

/** Where `dir` is mounted and with which options (Linux /proc/mounts), for the noexec message. */
export async function mountOf(session: RemoteSession, dir: string): Promise<string | undefined> {
  const script = `d=${shellQuote(dir)}
mp=$(df -P "$d" 2>/dev/null | awk 'NR==2 {print $6}')
[ -n "$mp" ] || exit 0
opts=$(awk -v m="$mp" '$2 == m {o=$4} END {print o}' /proc/mounts 2>/dev/null)
echo "$mp \${opts:-?}"`;
  const r = await session.exec('sh -s', { stdin: script, timeoutMs: 10_000 }).catch(() => undefined);
  const line = r?.stdout.toString('utf8').trim();
  return line || undefined;
}

/** noexec: can files in the agent's cache directory be executed (the executable agent, the QUIC addon)? */
export function noexecOutcome(f: RemoteFacts, mount: string | undefined): StepOutcome {
  if (!f.cacheDir)
    return fail(
      `no agent directory: ${f.cacheError ?? 'unknown'}`,
      'make $HOME/.cache writable on the remote, or set XDG_CACHE_HOME to a writable directory',
    );
  if (f.execAllowed) return pass(`${f.cacheDir} allows executing files`);
  const where = mount ? ` (mounted at ${mount.replace(' ', ' with ')})` : '';
  return fail(
    `${f.cacheDir} is on a noexec mount${where}: the executable agent and the QUIC addon cannot run from it`,
    `point XDG_CACHE_HOME on the remote at a directory on an exec mount (e.g. SetEnv XDG_CACHE_HOME=... in sshd_config), or remount ${mount?.split(' ')[0] ?? 'it'} without noexec`,
  );
}

const STATE: Record<CacheState, string> = {
  ok: 'cached and verified',
  missing: 'not cached (uploaded on the first run)',
  bad: 'cached but fails its sha256 (replaced on the next run)',
  unverifiable: 'cached, but the remote has no sha256 tool to verify it',
  unchecked: 'not checked',
};

/** Agent cache: the state of each file this build would use there. */
export function cacheOutcome(f: RemoteFacts, artifacts: AgentArtifacts): StepOutcome {
  if (!f.cacheDir)
    return fail(`no cache dir: ${f.cacheError ?? 'unknown'}`, 'make $HOME/.cache writable on the remote');
  const parts: string[] = [];
  const script = artifacts.script();
  if (!script) parts.push('node agent not built here (run npm run build)');
  else if (f.nodeUsable) parts.push(`node agent ${script.sha256.slice(0, 12)} ${STATE[f.cachedScript]}`);
  if (hasBinaryPlatform(f)) {
    const b = artifacts.binary(f.platform);
    parts.push(b ? `${f.platform} executable ${STATE[f.cachedBinary]}` : `${f.platform} executable not built here`);
  }
  if (f.quicPlatform) {
    parts.push(
      `QUIC files: bundle ${STATE[f.cachedQuicBundle ?? 'unchecked']}, addon ${STATE[f.cachedQuicAddon ?? 'unchecked']}`,
    );
  }
  const tool = f.hashTool ? `hash tool ${f.hashTool}` : 'no sha256 tool';
  return pass(`${f.cacheDir}: ${parts.join('; ')}; ${tool}, gzip ${f.gzip ? 'yes' : 'no'}`);
}
