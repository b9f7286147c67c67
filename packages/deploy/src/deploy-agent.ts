import { type AgentArgs, agentArgs } from './agent-args.ts';
import { AGENT_PLATFORMS, type AgentArtifact, AgentArtifacts } from './agent-artifacts.ts';
import { DeployError } from './errors.ts';
import { probeAndStart, type StartedAgent } from './probe-channel.ts';
import { installArtifact, type UploadVia } from './remote-install.ts';
import { MIN_NODE_MAJOR, type RemoteFacts } from './remote-probe.ts';
import type { RemoteSession } from './remote-session.ts';
import { shellQuote } from './shell-quote.ts';

/** How the agent runs on the remote: the bundled script on the remote's Node, a single executable, or no agent. */
export type AgentMode = 'node' | 'binary' | 'none';

/** Host-side log sink of deploy and the agent link. */
export type DeployLog = (level: 'error' | 'warn' | 'info' | 'debug', msg: string) => void;

/** Options of `deployAgent`. */
export interface DeployOptions {
  /** `auto` prefers `node`, then `binary`, then agentless `none`. */
  mode: 'auto' | AgentMode;
  log?: DeployLog;
  /** Directory with `agent.cjs` and `bin/<platform>/...` (default: packages/agent/dist next to this code). */
  agentArtifacts?: string;
  /**
   * When the cached node agent verifies, the probe starts it in the same channel with these
   * arguments (they must match `startAgent`'s options, else that starts another); `false` probes only.
   * Default `{}`: the defaults of `startAgent`.
   */
  startInProbe?: AgentArgs | false;
}

/** What deploy chose and did (the CLI's `agent` event). */
export interface DeployResult {
  mode: AgentMode;
  /** Remote platform, e.g. `linux-x64` (`<os>-<arch>` as reported when not one we build for). */
  platform: string;
  /** Bytes sent over the wire (0 when the cached agent verified). */
  bytesUploaded: number;
  /** Why this mode (always set for `none` and for fallbacks). */
  reason?: string;
  /** Remote command that starts the agent (`node` and `binary` modes). */
  command?: string;
  /** SHA-256 of the agent file on the remote. */
  sha256?: string;
  /** Its absolute path in the remote cache. */
  remotePath?: string;
  /** The verified cached file was reused. */
  cached?: boolean;
  /** How bytes travelled when uploaded. */
  via?: UploadVia;
  /** Remote Node version, when there is one. */
  nodeVersion?: string;
  durationMs?: number;
  /** The agent the probe already started (cached node agent); `startAgent` takes it over. */
  started?: StartedAgent;
}

/** Why `mode` cannot run on this remote, or undefined when it can. */
function unavailable(
  mode: 'node' | 'binary',
  facts: RemoteFacts,
  artifact: AgentArtifact | undefined,
  dir: string,
): string | undefined {
  if (!facts.cacheDir) return `no private cache dir on the remote (${facts.cacheError ?? 'unknown'})`;
  if (mode === 'node') {
    if (!artifact) return `the agent script is not built (${dir}/agent.cjs missing: run npm run build)`;
    if (!facts.nodePath) return 'the remote has no node on its PATH';
    if (!facts.nodeUsable)
      return `the remote node ${facts.nodeVersion ?? '(no version)'} is older than ${MIN_NODE_MAJOR}`;
    return undefined;
  }
  if (!(AGENT_PLATFORMS as readonly string[]).includes(facts.platform)) {
    return `no agent executable exists for platform ${facts.platform} (uname: ${facts.os} ${facts.arch})`;
  }
  if (!artifact) return `the ${facts.platform} executable is not built here (run npm run build:agents)`;
  if (!facts.execAllowed) return `the remote cache dir ${facts.cacheDir} does not allow executing files (noexec mount)`;
  if (!facts.gzip) return 'the remote has no gzip to unpack the executable';
  return undefined;
}

function startCommand(mode: 'node' | 'binary', facts: RemoteFacts, remotePath: string): string {
  // env NODE_OPTIONS=: a user's --require hook must not print into the frame stream
  return mode === 'node'
    ? `env NODE_OPTIONS= ${shellQuote(facts.nodePath ?? 'node')} ${shellQuote(remotePath)}`
    : `env NODE_OPTIONS= ${shellQuote(remotePath)}`;
}

/**
 * Makes an agent runnable on the remote: one probe round trip (uname, node, cache state) that, when
 * the cached node agent verifies, also starts it (`started`); only when the cached copy is missing or
 * fails its hash, an upload and install. Falls back along
 * `auto`: node -> binary -> none, and to `none` when nothing can run, with the reason logged and returned.
 */
export async function deployAgent(session: RemoteSession, options: DeployOptions): Promise<DeployResult> {
  const startedAt = performance.now();
  const log: DeployLog = options.log ?? (() => {});
  const artifacts = new AgentArtifacts(options.agentArtifacts);
  const wantsNode = options.mode === 'auto' || options.mode === 'node';
  const wantsBinary = options.mode === 'auto' || options.mode === 'binary';
  const script = wantsNode ? artifacts.script() : undefined;
  const binarySha256: Record<string, string> = {};
  if (wantsBinary) {
    for (const p of artifacts.platforms()) {
      const b = artifacts.binary(p);
      if (b) binarySha256[p] = b.sha256;
    }
  }
  const early = wantsNode && script && options.startInProbe !== false;
  const { facts, started } = await probeAndStart(session, {
    scriptSha256: script?.sha256,
    binarySha256,
    checkBinary: options.mode === 'binary' ? 'always' : options.mode === 'auto' ? 'if-no-node' : 'never',
    ...(early ? { startArgs: agentArgs(options.startInProbe || {}) } : {}),
  });
  log(
    'debug',
    `remote: ${facts.os} ${facts.arch} (${facts.platform}), node ${facts.nodeVersion ?? 'none'}, ` +
      `hash ${facts.hashTool ?? 'none'}, cache ${facts.cacheDir ?? facts.cacheError}, exec ${facts.execAllowed}`,
  );
  const done = (r: DeployResult): DeployResult => {
    const result = { ...r, durationMs: Math.round(performance.now() - startedAt) };
    if (facts.nodeVersion) result.nodeVersion = facts.nodeVersion;
    if (started && result.mode === 'node' && result.cached && result.remotePath?.endsWith(`/${script?.sha256}`)) {
      result.started = started;
    } else started?.channel.close();
    return result;
  };

  if (options.mode === 'none') {
    const reason = 'agentless scanning was asked for (--agent none)';
    log('info', `agent mode none on ${facts.platform}: ${reason}`);
    return done({ mode: 'none', platform: facts.platform, bytesUploaded: 0, reason });
  }

  const candidates: Array<'node' | 'binary'> =
    options.mode === 'auto' ? ['node', 'binary'] : [options.mode as 'node' | 'binary'];
  const reasons: string[] = [];
  let bytesUploaded = 0;
  for (const mode of candidates) {
    const artifact = mode === 'node' ? script : artifacts.binary(facts.platform);
    const why = unavailable(mode, facts, artifact, artifacts.dir);
    if (why || !artifact) {
      reasons.push(`${mode}: ${why}`);
      log('debug', `agent mode ${mode} unavailable: ${why}`);
      continue;
    }
    const state = mode === 'node' ? facts.cachedScript : facts.cachedBinary;
    const label = `${mode} agent ${artifact.sha256.slice(0, 12)}`;
    const base = { mode, platform: facts.platform, sha256: artifact.sha256 };
    const reason =
      mode === 'node'
        ? `the remote has node ${facts.nodeVersion}`
        : `${reasons.length > 0 ? `${reasons.join('; ')}; ` : ''}using the ${facts.platform} executable`;
    if (state === 'ok') {
      const remotePath = `${facts.cacheDir}/${artifact.sha256}`;
      log('info', `agent mode ${mode} on ${facts.platform} (${reason}): cached ${label} verified, nothing uploaded`);
      return done({
        ...base,
        bytesUploaded,
        reason,
        remotePath,
        cached: true,
        command: startCommand(mode, facts, remotePath),
      });
    }
    if (state === 'bad') log('warn', `cached ${label} failed its sha256 check (tampered or truncated): replacing it`);
    try {
      const installed = await installArtifact(session, facts, artifact, log);
      bytesUploaded += installed.bytesUploaded;
      log(
        'info',
        `agent mode ${mode} on ${facts.platform} (${reason}): uploaded ${label}, ` +
          `${installed.bytesUploaded} bytes via ${installed.via}`,
      );
      return done({
        ...base,
        bytesUploaded,
        reason,
        remotePath: installed.remotePath,
        cached: false,
        via: installed.via,
        command: startCommand(mode, facts, installed.remotePath),
      });
    } catch (err) {
      if (!(err instanceof DeployError)) throw err;
      reasons.push(`${mode}: ${err.message}`);
      log('warn', `agent mode ${mode} failed: ${err.message}`);
    }
  }
  const reason = `no agent can run (${reasons.join('; ')}): scanning agentless over exec`;
  log('warn', `agent mode none on ${facts.platform}: ${reason}`);
  return done({ mode: 'none', platform: facts.platform, bytesUploaded, reason });
}
