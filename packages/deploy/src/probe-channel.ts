import { DeployError } from './errors.ts';
import { type ProbeRequest, parseProbeOutput, probeScript, type RemoteFacts } from './remote-probe.ts';
import type { ExecChannel, RemoteSession } from './remote-session.ts';

/** An agent the probe already started in its own channel: its stdout is paused at the first agent byte. */
export interface StartedAgent {
  channel: ExecChannel;
  /** The argument tail it was started with (`agentArgs()`); a caller wanting others starts a new one. */
  args: string;
}

/** What `probeAndStart` learned, and the agent it started (when the cached node agent verified). */
export interface ProbeOutcome {
  facts: RemoteFacts;
  started?: StartedAgent;
}

/** How long the probe may take (a slow disk hashing the cached file). */
const PROBE_TIMEOUT_MS = 30_000;
/** Most probe output kept (login-shell noise plus ~20 short lines). */
const MAX_PROBE_OUTPUT = 64 * 1024;

/** Where the probe's last line (`probe=done` or `probe=agent`) ends, and which it was; undefined until it came. */
function probeEnd(bytes: Buffer): { end: number; agent: boolean } | undefined {
  for (const marker of ['probe=agent\n', 'probe=agent-quic\n', 'probe=done\n']) {
    let at = bytes.indexOf(marker);
    while (at > 0 && bytes[at - 1] !== 0x0a) at = bytes.indexOf(marker, at + 1);
    if (at >= 0) return { end: at + marker.length, agent: marker !== 'probe=done\n' };
  }
  return undefined;
}

/**
 * Runs the probe over a long-lived exec channel (`sh -s`, script on stdin, stdin kept open). With
 * `request.startArgs` set and the cached node agent verified, the script execs the agent in the same
 * channel: one round trip instead of two. The channel is then handed back paused, with whatever
 * agent bytes already arrived pushed back onto its stdout.
 */
export async function probeAndStart(session: RemoteSession, request: ProbeRequest): Promise<ProbeOutcome> {
  let channel: ExecChannel;
  try {
    channel = await session.spawn('sh -s');
  } catch (cause) {
    throw new DeployError('probe', `remote probe failed: ${(cause as Error).message}`, { cause });
  }
  let out = Buffer.alloc(0);
  let err = '';
  const onErr = (c: Buffer) => {
    err = (err + c.toString('utf8')).slice(-2048);
  };
  channel.stderr.on('data', onErr);
  channel.stdin.on('error', () => {}); // the exit below reports what went wrong
  let timer: NodeJS.Timeout | undefined;
  try {
    const ended = await new Promise<'agent' | 'done' | 'exit'>((resolve, reject) => {
      timer = setTimeout(() => {
        reject(new DeployError('probe', `remote probe did not finish within ${PROBE_TIMEOUT_MS} ms`));
      }, PROBE_TIMEOUT_MS);
      const onData = (chunk: Buffer) => {
        out = Buffer.concat([out, chunk]);
        const found = probeEnd(out);
        if (!found) {
          if (out.byteLength > MAX_PROBE_OUTPUT) reject(new DeployError('probe', 'remote probe printed too much'));
          return;
        }
        channel.stdout.off('data', onData);
        const rest = out.subarray(found.end);
        out = out.subarray(0, found.end);
        if (!found.agent) {
          channel.stdin.end();
          return resolve('done');
        }
        // the agent's first bytes: back onto the stream, for the link that takes it over
        channel.stdout.pause();
        if (rest.byteLength > 0) channel.stdout.unshift(rest);
        resolve('agent');
      };
      channel.stdout.on('data', onData);
      channel.exit.then(
        () => resolve('exit'),
        (cause: Error) => reject(new DeployError('probe', `remote probe failed: ${cause.message}`, { cause })),
      );
      channel.stdin.write(probeScript(request));
    });
    if (ended === 'exit' || ended === 'done') {
      const { code } = await channel.exit;
      channel.close();
      if (code !== 0) {
        throw new DeployError('probe', `remote probe exited ${code}: ${err.trim().slice(0, 300)}`);
      }
      return { facts: parseProbeOutput(out.toString('utf8')) };
    }
    channel.stderr.off('data', onErr);
    const facts = parseProbeOutput(out.toString('utf8'));
    return { facts, started: { channel, args: request.startArgs ?? '' } };
  } catch (e) {
    channel.close();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
