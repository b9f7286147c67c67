import type { Duplex } from 'node:stream';
import type { LogLevelName } from '@port-linker/proto';
import { negotiateTransport, type QuicConnector, type TransportPreference } from '@port-linker/transport';
import { agentArgs, DEFAULT_SILENCE_TIMEOUT_MS } from './agent-args.ts';
import { type AgentLink, StdioAgentLink } from './agent-link.ts';
import { AgentlessLink } from './agentless-link.ts';
import type { DeployLog, DeployResult } from './deploy-agent.ts';
import { DeployError } from './errors.ts';
import type { ExecChannel, RemoteSession } from './remote-session.ts';

export { DEFAULT_SILENCE_TIMEOUT_MS } from './agent-args.ts';

/** Options of `startAgent`. */
export interface StartAgentOptions {
  /** The agent exits after this long without hearing from the host (default 30 s). */
  silenceTimeoutMs?: number;
  /** Host ping period (default min(5 s, silence / 3)). */
  pingIntervalMs?: number;
  /** Most verbose agent log level shipped to the host (default info). */
  logLevel?: LogLevelName;
  /** How long to wait for AgentHello (default 15 s: a 90 MB executable's first start on a slow disk). */
  startTimeoutMs?: number;
  /** Agentless mode: floor of the scan interval (default 1 s). */
  agentlessIntervalMs?: number;
  log?: DeployLog;
  /** Which transport to ask the agent for (default auto); anything but stdio needs `dial`. */
  transport?: TransportPreference;
  /** Opens a direct-tcpip channel on the remote (the tcp transport rides one). */
  dial?: (host: string, port: number) => Promise<Duplex>;
  /** Bound on each transport attempt (default ATTEMPT_TIMEOUT_MS). */
  attemptTimeoutMs?: number;
  /**
   * The host's QUIC side, made only when the agent offers quic (e.g. `loadQuicConnector(address)`, which
   * imports the QUIC code: never loaded otherwise). Without it a quic offer is skipped.
   */
  quic?: () => Promise<QuicConnector>;
}

/** How long to wait for the TransportOffer that follows AgentHello (it is sent at once). */
const OFFER_TIMEOUT_MS = 2000;

/**
 * Starts the deployed agent over an exec channel (or takes over the one the probe started it in,
 * when its arguments match) and resolves after its AgentHello; for mode
 * `none` resolves at once with an agentless link that answers the same messages. Rejects with a
 * DeployError (stage `start`) when the agent ends or stays silent before saying hello.
 */
export async function startAgent(
  session: RemoteSession,
  deployed: DeployResult,
  options: StartAgentOptions = {},
): Promise<AgentLink> {
  const log: DeployLog = options.log ?? (() => {});
  if (deployed.mode === 'none' || !deployed.command) {
    log('info', `agentless scanning over exec${deployed.reason ? ` (${deployed.reason})` : ''}`);
    return new AgentlessLink(session, deployed.platform, { minIntervalMs: options.agentlessIntervalMs, log });
  }
  const silenceTimeoutMs = options.silenceTimeoutMs ?? DEFAULT_SILENCE_TIMEOUT_MS;
  const pingIntervalMs = options.pingIntervalMs ?? Math.min(5000, Math.max(50, Math.floor(silenceTimeoutMs / 3)));
  const args = agentArgs({
    silenceTimeoutMs,
    logLevel: options.logLevel,
    ...(deployed.quic ? { quic: deployed.quic } : {}),
  });
  const early = deployed.started;
  delete deployed.started;
  let channel: ExecChannel;
  if (early?.args === args) {
    channel = early.channel;
    log('debug', 'agent: taking over the one the probe started');
  } else {
    early?.channel.close();
    channel = await session.spawn(`${deployed.command} ${args}`).catch((cause) => {
      throw new DeployError('start', `cannot open the agent channel: ${(cause as Error).message}`, {
        platform: deployed.platform,
        cause,
      });
    });
  }
  const link = new StdioAgentLink(channel, deployed.mode, { silenceTimeoutMs, pingIntervalMs }, log);
  channel.stdout.resume(); // the probe's channel was handed over paused
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const info = await Promise.race([
      link.ready,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no AgentHello within ${startTimeoutMs} ms`)), startTimeoutMs);
      }),
    ]);
    log('debug', `agent ${info.version} up: pid ${info.pid}, ${info.platform}-${info.arch}, scanner ${info.scanner}`);
    await negotiate(link, options, log);
    return link;
  } catch (err) {
    await link.close();
    throw new DeployError('start', `the ${deployed.mode} agent did not start: ${(err as Error).message}`, {
      platform: deployed.platform,
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** Picks the link's transport with the agent (agents without the `transport` capability stay on stdio). */
async function negotiate(link: StdioAgentLink, options: StartAgentOptions, log: DeployLog): Promise<void> {
  const preference = options.transport ?? 'auto';
  if (!link.info?.capabilities.includes('transport')) {
    if (preference !== 'auto' && preference !== 'stdio')
      log('warn', `--transport ${preference}: this agent cannot negotiate transports; using stdio`);
    return;
  }
  const offer = (await link.offer(OFFER_TIMEOUT_MS)) ?? [];
  const dial = options.dial;
  let quic: QuicConnector | undefined;
  if (options.quic && offer.some((e) => e.kind === 'quic') && (preference === 'quic' || preference === 'auto')) {
    quic = await options.quic().catch((err: Error) => {
      log('warn', `quic: cannot load it on this host: ${err.message}`);
      return undefined;
    });
  }
  const result = await negotiateTransport(
    offer,
    preference,
    {
      sendControl: (m) => link.sendControl(m),
      dial: dial ?? (() => Promise.reject(new Error('no direct-tcpip dialer'))),
      log: (level, message) => log(level, message),
      ...(quic ? { quic } : {}),
    },
    options.attemptTimeoutMs,
  );
  if (result.transport) link.useTransport(result.transport);
  if (preference !== 'auto' && preference !== result.kind) {
    const offered = offer.map((e) => e.kind).join(', ') || 'nothing';
    log(
      'warn',
      `--transport ${preference} unavailable (agent offered ${offered}; ${result.failures.join('; ') || 'not offered'}); using ${result.kind}`,
    );
  } else {
    log(
      'debug',
      `agent transport: ${result.kind}${result.failures.length ? ` after ${result.failures.join('; ')}` : ''}`,
    );
  }
}
