import { type AgentArgs, type AgentQuic, agentArgs } from './agent-args.ts';
import { AGENT_PLATFORMS, type AgentArtifact, AgentArtifacts, type QuicArtifacts } from './agent-artifacts.ts';
import { DeployError } from './errors.ts';
import { probeAndStart, type StartedAgent } from './probe-channel.ts';
import { installArtifact, type UploadVia } from './remote-install.ts';
import { MIN_NODE_MAJOR, QUIC_MIN_GLIBC, type RemoteFacts } from './remote-probe.ts';
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
  startInProbe?: Omit<AgentArgs, 'quic'> | false;
  /**
   * The host wants QUIC (`--transport quic`): on a remote that can load the addon (linux-x64, glibc >= 2.34)
   * the node agent gets the QUIC bundle and addon (uploaded into the cache when missing) and the executable
   * its embedded copy; `DeployResult.quic` says from where. Without it nothing of QUIC is probed or uploaded.
   */
  quic?: boolean;
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
  /** Where the agent loads QUIC from (`--quic-bundle/--quic-addon` or `--quic-embedded`); absent: no QUIC. */
  quic?: AgentQuic;
  /** Why the agent gets no QUIC although it was asked for. */
  quicReason?: string;
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

/** Remote paths of the QUIC files in the cache (`<cache>/quic/<sha256>`). */
function quicPaths(cacheDir: string, files: QuicArtifacts): { bundle: string; addon: string } {
  return { bundle: `${cacheDir}/quic/${files.bundle.sha256}`, addon: `${cacheDir}/quic/${files.addon.sha256}` };
}

/** Uploads the QUIC files the probe did not find verified (both at once); resolves with the bytes sent. */
async function installQuic(
  session: RemoteSession,
  facts: RemoteFacts,
  files: QuicArtifacts,
  log: DeployLog,
): Promise<number> {
  const missing = [
    facts.cachedQuicBundle === 'ok' ? undefined : files.bundle,
    facts.cachedQuicAddon === 'ok' ? undefined : files.addon,
  ].filter((a): a is AgentArtifact => a !== undefined);
  if (missing.length === 0) {
    log('debug', 'quic: cached bundle and addon verified, nothing uploaded');
    return 0;
  }
  for (const [state, what] of [
    [facts.cachedQuicBundle, 'bundle'],
    [facts.cachedQuicAddon, 'addon'],
  ] as const) {
    if (state === 'bad')
      log('warn', `cached QUIC ${what} failed its sha256 check (tampered or truncated): replacing it`);
  }
  const startedAt = performance.now();
  const results = await Promise.all(missing.map((a) => installArtifact(session, facts, a, log)));
  const bytes = results.reduce((n, r) => n + r.bytesUploaded, 0);
  log(
    'info',
    `quic: uploaded ${missing.length} file(s), ${bytes} bytes in ${Math.round(performance.now() - startedAt)} ms`,
  );
  return bytes;
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
  // the QUIC files are hashed only when asked for (3.6 MB); only linux-x64's addon exists
  const quicFiles = options.quic && wantsNode ? artifacts.quic('linux-x64') : undefined;
  const startArgs = agentArgs(options.startInProbe || {});
  const { facts, started } = await probeAndStart(session, {
    scriptSha256: script?.sha256,
    binarySha256,
    checkBinary: options.mode === 'binary' ? 'always' : options.mode === 'auto' ? 'if-no-node' : 'never',
    ...(early ? { startArgs } : {}),
    ...(options.quic
      ? { quic: quicFiles ? { bundleSha256: quicFiles.bundle.sha256, addonSha256: quicFiles.addon.sha256 } : {} }
      : {}),
  });
  if (started && facts.agentStartedWithQuic && quicFiles && facts.cacheDir) {
    started.args = agentArgs({ ...(options.startInProbe || {}), quic: quicPaths(facts.cacheDir, quicFiles) });
  }
  log(
    'debug',
    `remote: ${facts.os} ${facts.arch} (${facts.platform}), node ${facts.nodeVersion ?? 'none'}, ` +
      `hash ${facts.hashTool ?? 'none'}, cache ${facts.cacheDir ?? facts.cacheError}, exec ${facts.execAllowed}` +
      (options.quic
        ? `, glibc ${facts.glibc ?? 'unknown'}, quic ${facts.quicPlatform ? 'possible' : 'impossible'}`
        : ''),
  );
  /** Adds the agent's QUIC source to a result (uploading the QUIC files for a node agent when missing). */
  const withQuic = async (r: DeployResult, artifact: AgentArtifact): Promise<DeployResult> => {
    if (!options.quic) return r;
    let quic: AgentQuic | undefined;
    let why: string | undefined;
    if (!facts.quicPlatform) {
      why = `the remote is ${facts.platform}${facts.glibc ? ` with glibc ${facts.glibc}` : ''}; QUIC needs linux-x64 with glibc >= ${QUIC_MIN_GLIBC.join('.')}`;
    } else if (r.mode === 'binary') {
      if (artifact.quic) quic = 'embedded';
      else why = `this ${facts.platform} executable has no QUIC embedded (rebuild it: npm run build:agents)`;
    } else if (!quicFiles || !facts.cacheDir) {
      why = `the QUIC bundle is not built (${artifacts.dir}/agent-quic.cjs, quic-linux-x64.node: run npm run build)`;
    } else {
      try {
        const uploaded = await installQuic(session, facts, quicFiles, log);
        r.bytesUploaded += uploaded;
        quic = quicPaths(facts.cacheDir, quicFiles);
      } catch (err) {
        if (!(err instanceof DeployError)) throw err;
        why = `uploading the QUIC files failed: ${err.message}`;
      }
    }
    if (why) log('warn', `quic not offered by the agent: ${why}`);
    return { ...r, ...(quic ? { quic } : {}), ...(why ? { quicReason: why } : {}) };
  };
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
      // debug: the CLI's own `agent: ...` line already says this at info
      log('debug', `agent mode ${mode} on ${facts.platform} (${reason}): cached ${label} verified, nothing uploaded`);
      return done(
        await withQuic(
          { ...base, bytesUploaded, reason, remotePath, cached: true, command: startCommand(mode, facts, remotePath) },
          artifact,
        ),
      );
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
      return done(
        await withQuic(
          {
            ...base,
            bytesUploaded,
            reason,
            remotePath: installed.remotePath,
            cached: false,
            via: installed.via,
            command: startCommand(mode, facts, installed.remotePath),
          },
          artifact,
        ),
      );
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
