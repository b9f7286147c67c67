import { lookup } from 'node:dns/promises';
import { type AgentLink, type DeployResult, deployAgent, loadQuicConnector, startAgent } from '@port-linker/deploy';
import type { Message, TransportName } from '@port-linker/proto';
import type { SshConnection } from '@port-linker/ssh';
import { fail, pass, type StepOutcome, skip } from './step-result.ts';
import { errorText } from './step-runner.ts';

/** Deploys the agent as `--transport quic` would (QUIC files included where the remote can load them). */
export async function deployForDoctor(conn: SshConnection, artifactsDir: string | undefined): Promise<DeployResult> {
  return deployAgent(conn, {
    mode: 'auto',
    quic: true,
    startInProbe: false,
    ...(artifactsDir ? { agentArtifacts: artifactsDir } : {}),
  });
}

/** The agent step's line: which mode, uploaded or cached, why. */
export function deployOutcome(d: DeployResult): StepOutcome {
  if (d.mode === 'none')
    return fail(
      `no agent can run: ${d.reason ?? 'unknown'}`,
      'see the remote platform and node steps; port-linker scans agentless until then',
    );
  const bytes = `${d.cached ? 'cached' : `uploaded via ${d.via ?? '?'}`}, ${d.bytesUploaded} bytes sent${d.quic ? ', with QUIC' : ''}`;
  return pass(`${d.mode} agent on ${d.platform} (${d.reason ?? ''}): ${bytes}`);
}

/** One Ping/Pong round trip over whatever carries the link's frames, in ms. */
export function pingAgent(link: AgentLink, timeoutMs = 3000): Promise<number> {
  const value = BigInt(Math.floor(Math.random() * 2 ** 40));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      link.off('message', on);
      reject(new Error(`no Pong within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (m: Message) => {
      if (m.type !== 'Pong' || m.value !== value) return;
      clearTimeout(timer);
      link.off('message', on);
      resolve(performance.now() - started);
    };
    link.on('message', on);
    link.send({ type: 'Ping', value });
  });
}

/** The address QUIC aims at: where the SSH connection's TCP went, else the HostName resolved here. */
async function quicAddress(conn: SshConnection): Promise<string> {
  if (conn.remoteAddress) return conn.remoteAddress;
  return (await lookup(conn.host.hostname)).address;
}

/** A started agent on one transport, with the warnings its negotiation logged. */
export interface TransportTry {
  outcome: StepOutcome;
  link?: AgentLink;
}

/** Starts an agent asking for `kind`, checks it landed there, and pings it. The caller closes `link`. */
export async function tryTransport(
  conn: SshConnection,
  deployed: DeployResult,
  kind: TransportName,
): Promise<TransportTry> {
  if (deployed.mode === 'none') return { outcome: skip('agentless scanning: there is no agent to carry frames') };
  if (kind === 'quic' && !deployed.quic) {
    const why = deployed.quicReason ?? 'the agent gets no QUIC';
    if (/QUIC needs/.test(why)) return { outcome: skip(why) };
    return { outcome: fail(why, 'use --transport tcp or stdio (auto never uses quic)') };
  }
  const warnings: string[] = [];
  let link: AgentLink;
  try {
    link = await startAgent(
      conn,
      { ...deployed },
      {
        transport: kind,
        dial: (h, p) => conn.forwardOut(h, p),
        ...(kind === 'quic' ? { quic: async () => loadQuicConnector(await quicAddress(conn)) } : {}),
        log: (level, msg) => {
          if (level === 'warn' || level === 'error') warnings.push(msg);
        },
      },
    );
  } catch (err) {
    return {
      outcome: fail(`the agent did not start: ${errorText(err)}`, 'run with --log-level debug to see the agent output'),
    };
  }
  const got = link.transport ?? 'stdio';
  let rtt: number;
  try {
    rtt = await pingAgent(link);
  } catch (err) {
    return {
      outcome: fail(`${got}: ${errorText(err)}`, 'the agent stopped answering: see its log (--log-level debug)'),
      link,
    };
  }
  const timing = `ping ${rtt.toFixed(1)} ms`;
  if (got === kind) {
    const how =
      kind === 'stdio'
        ? 'frames over the exec channel'
        : kind === 'tcp'
          ? "frames over a direct-tcpip channel to the agent's loopback port"
          : `frames over QUIC (UDP) to ${conn.remoteAddress ?? conn.host.hostname}`;
    return { outcome: pass(`${how}; ${timing}`), link };
  }
  const why = warnings.find((w) => w.includes(`--transport ${kind} unavailable`)) ?? warnings.join('; ');
  const detail = `asked for ${kind}, landed on ${got}: ${why || 'no reason given'}`;
  let fix: string;
  if (kind === 'tcp' && /administratively prohibited|AllowTcpForwarding/.test(why))
    fix = "set AllowTcpForwarding yes in the server's sshd_config (auto stays on stdio and works without it)";
  else if (kind === 'quic' && /no answer|timeout|timed out|within/i.test(why))
    fix =
      'UDP from here to the remote is blocked: allow inbound UDP to the remote (the agent listens on a random port) or use --transport tcp';
  else if (kind === 'quic' && /offered(?![^;]*quic)/.test(why))
    fix =
      "the agent could not load QUIC: check the noexec step (the addon must be loadable from the agent's directory)";
  else fix = `use --transport ${kind === 'quic' ? 'tcp' : 'stdio'} (auto stays on stdio)`;
  return { outcome: fail(detail, fix), link };
}
