import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Message, MessageOf } from '@port-linker/proto';
import { connectDirect, type DirectTarget } from './direct-client.ts';
import type { MuxSession } from './mux-session.ts';

/** What the probe needs of the agent link (deploy's AgentLink). */
export interface ProbeLink extends EventEmitter {
  readonly info: { capabilities: string[] } | undefined;
  send(message: Message): void;
}

/** What the probe needs of the SSH connection (ssh's SshConnection). */
export interface ProbeConnection {
  readonly remoteAddress: string | undefined;
  forwardOut(host: string, port: number): Promise<Duplex>;
}

/** Round trips measured (ms; median of ECHO_ROUNDS). */
export interface ProbeTimes {
  direct?: number;
  ssh?: number;
}

/** The outcome: a connected direct session to use (or close), or why SSH channels carry the data. */
export type ProbeResult =
  | { kind: 'direct'; session: MuxSession; target: DirectTarget; reason: string; rtt: ProbeTimes; echoPort: number }
  | { kind: 'ssh'; reason: string; rtt: ProbeTimes; echoPort?: number };

/** How long the agent has to answer DataPathRequest, and the TLS connect to finish. */
const OFFER_TIMEOUT_MS = 5000;
const CONNECT_TIMEOUT_MS = 3000;
/** 64-byte round trips timed through each path (the median decides). */
const ECHO_ROUNDS = 15;

/**
 * Asks the agent for its data path listener and measures both paths: 15 round trips of 64 bytes to the agent's
 * loopback echo through an SSH channel (whose refusal "administratively prohibited" means the server forbids
 * forwarding: then the agent must not dial for us either), then the same through a fresh TLS session. `auto` keeps the
 * session only when its median is shorter; `direct` whenever it echoes. `ownPort` learns the agent's two ports.
 */
export async function probeDataPath(
  conn: ProbeConnection,
  link: ProbeLink,
  mode: 'auto' | 'direct',
  ownPort: (port: number) => void = () => {},
): Promise<ProbeResult> {
  const before = (reason: string): ProbeResult => ({ kind: 'ssh', reason, rtt: {} });
  if (!link.info?.capabilities.includes('datapath'))
    return before('the agent has no direct data path (agentless, or an older agent)');
  const address = conn.remoteAddress;
  if (!address) return before('SSH goes through a jump host or ProxyCommand: no direct route to the agent');
  // every offer's ports are the agent's own, a late one's too (the link may stall after the request: the agent's
  // listeners then exist, and its scans would otherwise mirror them)
  link.on('message', (m: Message) => {
    if (m.type !== 'DataPathOffer' || m.port === 0) return;
    ownPort(m.port);
    ownPort(m.echoPort);
  });
  const offer = await requestOffer(link);
  if (!offer) return before(`the agent did not offer a listener within ${OFFER_TIMEOUT_MS / 1000} s`);
  if (offer.port === 0) return before(`the agent cannot listen: ${offer.reason}`);
  const { echoPort } = offer;
  const none = (reason: string, rtt: ProbeTimes = {}): ProbeResult => ({ kind: 'ssh', reason, rtt, echoPort });
  let sshRtt: number | undefined;
  try {
    sshRtt = await echoRoundTrip(await conn.forwardOut('127.0.0.1', offer.echoPort));
  } catch (err) {
    if ((err as { reason?: string }).reason === 'administratively prohibited')
      return before('the server forbids TCP forwarding (AllowTcpForwarding): the agent will not dial for it');
  }
  const target = { address, port: offer.port, key: offer.key };
  let session: MuxSession;
  try {
    session = await connectDirect(target, CONNECT_TIMEOUT_MS);
  } catch (err) {
    return none(
      `cannot reach the agent's listener: ${(err as Error).message}`,
      sshRtt === undefined ? {} : { ssh: sshRtt },
    );
  }
  const directRtt = await echoRoundTrip(session.open('127.0.0.1', offer.echoPort)).catch(() => undefined);
  const rtt = {
    ...(directRtt !== undefined ? { direct: directRtt } : {}),
    ...(sshRtt !== undefined ? { ssh: sshRtt } : {}),
  };
  if (directRtt === undefined) {
    session.close();
    return none('the direct connection did not echo', rtt);
  }
  if (mode === 'auto' && sshRtt !== undefined && directRtt >= sshRtt) {
    session.close();
    return none('measured: a round trip through SSH is shorter', rtt);
  }
  // no echo through SSH (the link is busy: 15 round trips must each come within 2 s) is no measure of it: stay
  if (mode === 'auto' && sshRtt === undefined) {
    session.close();
    return none('the round trip through SSH could not be timed (a busy link?): nothing to compare', rtt);
  }
  return { kind: 'direct', session, target, reason: `TLS 1.3 to ${address}:${offer.port}`, rtt, echoPort };
}

/**
 * Median of ECHO_ROUNDS 64-byte round trips through `stream` (to the agent's echo), in ms; the stream is closed after.
 * Rejects when the echo does not come back within 2 s.
 */
export async function echoRoundTrip(stream: Duplex): Promise<number> {
  const payload = Buffer.alloc(64, 0x2a);
  const times: number[] = [];
  try {
    for (let i = 0; i < ECHO_ROUNDS; i++) {
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        let got = 0;
        const timer = setTimeout(() => done(new Error('no echo within 2 s')), 2000);
        const onData = (d: Buffer) => {
          got += d.length;
          if (got >= payload.length) done();
        };
        const onGone = () => done(new Error('closed'));
        const done = (err?: Error) => {
          clearTimeout(timer);
          stream.off('data', onData);
          stream.off('close', onGone);
          stream.off('error', onGone);
          if (err) reject(err);
          else resolve();
        };
        stream.on('data', onData);
        stream.once('close', onGone);
        stream.once('error', onGone);
        stream.write(payload);
      });
      times.push(performance.now() - t0);
    }
  } finally {
    stream.destroy();
  }
  return times.sort((x, y) => x - y)[Math.floor(times.length / 2)] as number;
}

function requestOffer(link: ProbeLink): Promise<MessageOf<'DataPathOffer'> | undefined> {
  return new Promise((resolve) => {
    const onMessage = (m: Message) => {
      if (m.type !== 'DataPathOffer') return;
      done(m);
    };
    const done = (m: MessageOf<'DataPathOffer'> | undefined) => {
      clearTimeout(timer);
      link.off('message', onMessage);
      link.off('exit', onExit);
      resolve(m);
    };
    const onExit = () => done(undefined);
    const timer = setTimeout(() => done(undefined), OFFER_TIMEOUT_MS);
    link.on('message', onMessage);
    link.once('exit', onExit);
    link.send({ type: 'DataPathRequest' });
  });
}
