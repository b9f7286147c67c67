import { probeDataPath } from '@port-linker/datapath';
import { AgentArtifacts, type AgentLink, type DeployResult } from '@port-linker/deploy';
import type { PortAttributes } from '@port-linker/forward';
import { longRoundTrip } from '@port-linker/openssh-plane';
import type { ResolvedHost, SshCliOptions, SshConnection } from '@port-linker/ssh';
import { deployForDoctor, deployOutcome, tryTransport } from './agent-transports.ts';
import { dataPathOutcome, opensshRoundTrip } from './data-path-step.ts';
import { dnsStep, indirectRoute } from './dns-lookup.ts';
import { opensshPlaneOutcome } from './openssh-plane-step.ts';
import { endToEnd, remotePortFacts, socketsOn } from './port-evidence.ts';
import { type DaemonView, explainPort, type LocalOwner, type PortFilterOptions } from './port-explain.ts';
import { cacheOutcome, mountOf, nodeOutcome, noexecOutcome, platformOutcome, probeFacts } from './remote-facts.ts';
import { otherUsersVisibility, scannerOutcome, scanOnce } from './scanner-check.ts';
import { configOutcome, resolveTraced, type TracedHost } from './ssh-config-step.ts';
import { authOutcome, hostKeyOutcome, isConnectFailure, login } from './ssh-login.ts';
import { fail, type StepOutcome, type StepResult, skip } from './step-result.ts';
import { type StepReporter, StepRunner } from './step-runner.ts';
import { tcpForwardingStep } from './tcp-forwarding.ts';
import { bannerStep, tcpStep } from './tcp-reach.ts';

/** What doctor needs from this machine that lives outside its packages (the CLI provides it). */
export interface LocalChecks {
  /** The local notifier step (display, node-notifier's backend). */
  notifier(): Promise<StepOutcome>;
  /** Who listens on a local TCP port. */
  localOwners(port: number): Promise<LocalOwner[]>;
  /** The running daemon's forwards, if one runs. */
  daemon(): Promise<DaemonView>;
}

/** Options of a doctor run. */
export interface DoctorOptions {
  target: string;
  ssh: SshCliOptions;
  env: NodeJS.ProcessEnv;
  local: LocalChecks;
  reporter: StepReporter;
  /** `--port N`: explain this port instead of checking transports, scanner and notifier. */
  port?: number;
  filter?: PortFilterOptions;
  attributes?: PortAttributes;
  /** Directory of the agent build outputs (default: the agent package's dist). */
  agentArtifacts?: string;
  signal?: AbortSignal;
}

/** Resolves the target for `--config` (throws SshUsageError on bad input). */
export function resolveForConfig(target: string, ssh: SshCliOptions): TracedHost {
  return resolveTraced(target, ssh);
}

/** Runs every step in order; resolves with the results (a failed step makes the ones that need it skip). */
export async function runDoctor(o: DoctorOptions): Promise<StepResult[]> {
  const r = new StepRunner(o.reporter);
  const moot = (why: string) => () => skip(why);
  let traced: TracedHost | undefined;
  await r.run(
    'ssh config',
    () => {
      traced = resolveTraced(o.target, o.ssh);
      return configOutcome(traced);
    },
    'fix the ssh_config line or command-line option named above',
  );
  const rest = [
    'dns',
    'tcp',
    'ssh banner',
    'host key',
    'auth',
    'tcp forwarding',
    'remote platform',
    'remote node',
    'noexec',
    'agent cache',
    'agent',
    ...(o.port === undefined ? ['transport stdio', 'transport tcp', 'transport quic', 'scanner', 'data path'] : []),
  ];
  if (!traced) {
    for (const name of rest) await r.run(name, moot('the ssh config did not resolve'));
    if (o.port === undefined) await r.run('openssh data plane', moot('the ssh config did not resolve'));
    if (o.port === undefined) await r.run('notifier', () => o.local.notifier());
    return r.results;
  }
  const host = traced.host;
  let address: string | undefined;
  await r.run('dns', async () => {
    const d = await dnsStep(host);
    address = d.address;
    return d.outcome;
  });
  let socket: import('node:net').Socket | undefined;
  const indirect = indirectRoute(host);
  await r.run('tcp', async () => {
    if (indirect) return skip(indirect);
    if (!address) return skip('no address (see dns)');
    const t = await tcpStep(address, host.port, Math.min(host.connectTimeout, 10) * 1000);
    socket = t.socket;
    return t.outcome;
  });
  await r.run('ssh banner', async () => {
    if (indirect) return skip(indirect);
    if (!socket) return skip('no TCP connection (see tcp)');
    return (await bannerStep(socket, 5000)).outcome;
  });

  const reachable = indirect !== undefined || socket !== undefined;
  let report: Awaited<ReturnType<typeof login>> | undefined;
  // the login (key exchange and authentication) is timed as the host key step: one connection does both
  await r.run('host key', async () => {
    if (!reachable) return skip('the server was not reached');
    report = await login(host, o.env, o.signal);
    return hostKeyOutcome(host, report);
  });
  await r.run('auth', async () => {
    if (!report) return skip('the server was not reached');
    if (isConnectFailure(report) && !report.hostKey)
      return fail(`${report.error?.message ?? 'cannot connect'}`, 'see the steps above');
    return authOutcome(host, report, o.env);
  });
  const conn = report?.connection;
  try {
    if (!conn) {
      for (const name of rest.slice(5)) await r.run(name, moot('not logged in'));
    } else {
      await afterLogin(r, conn, o, host);
    }
  } finally {
    conn?.close();
  }
  if (o.port === undefined)
    await r.run('openssh data plane', () => (conn ? opensshPlaneOutcome(host) : skip('not logged in')));
  if (o.port === undefined) await r.run('notifier', () => o.local.notifier());
  return r.results;
}

/** The steps that need a logged-in connection. */
async function afterLogin(r: StepRunner, conn: SshConnection, o: DoctorOptions, host: ResolvedHost): Promise<void> {
  await r.run('tcp forwarding', () => tcpForwardingStep(conn));
  const artifacts = new AgentArtifacts(o.agentArtifacts);
  let facts: Awaited<ReturnType<typeof probeFacts>> | undefined;
  await r.run(
    'remote platform',
    async () => {
      facts = await probeFacts(conn, artifacts);
      return platformOutcome(facts);
    },
    'the remote shell could not run the probe: check that `sh` works there',
  );
  const f = facts;
  if (!f) {
    for (const name of ['remote node', 'noexec', 'agent cache', 'agent']) await r.run(name, () => skip('no probe'));
    return;
  }
  await r.run('remote node', () => nodeOutcome(f));
  await r.run('noexec', async () =>
    noexecOutcome(f, f.execAllowed || !f.cacheDir ? undefined : await mountOf(conn, f.cacheDir)),
  );
  await r.run('agent cache', () => cacheOutcome(f, artifacts));
  let deployed: DeployResult | undefined;
  await r.run('agent', async () => {
    deployed = await deployForDoctor(conn, o.agentArtifacts);
    return deployOutcome(deployed);
  });
  const links: AgentLink[] = [];
  try {
    if (o.port !== undefined) await portSteps(r, conn, o, o.port, deployed, links);
    else await transportSteps(r, conn, deployed, links, host);
  } finally {
    await Promise.all(links.map((l) => l.close().catch(() => {})));
  }
}

async function transportSteps(
  r: StepRunner,
  conn: SshConnection,
  deployed: DeployResult | undefined,
  links: AgentLink[],
  host: ResolvedHost,
) {
  let stdio: AgentLink | undefined;
  for (const kind of ['stdio', 'tcp', 'quic'] as const) {
    await r.run(`transport ${kind}`, async () => {
      if (!deployed) return skip('no agent');
      const t = await tryTransport(conn, deployed, kind);
      if (t.link) links.push(t.link);
      if (kind === 'stdio') stdio = t.link;
      else await t.link?.close();
      return t.outcome;
    });
  }
  await r.run('scanner', async () => {
    if (!stdio?.info) return skip('no agent link');
    const sockets = await scanOnce(stdio);
    return scannerOutcome(stdio.info.scanner, sockets, await otherUsersVisibility(conn));
  });
  await r.run('data path', async () => {
    if (!stdio?.info) return skip('no agent link');
    const probe = await probeDataPath(conn, stdio, 'auto');
    const measurable = probe.echoPort !== undefined && !longRoundTrip(probe.rtt);
    const openssh = measurable ? await opensshRoundTrip(host, probe.echoPort as number) : undefined;
    return dataPathOutcome(probe, openssh);
  });
}

async function portSteps(
  r: StepRunner,
  conn: SshConnection,
  o: DoctorOptions,
  port: number,
  deployed: DeployResult | undefined,
  links: AgentLink[],
) {
  let steps: ReturnType<typeof explainPort> | undefined;
  // the first step gathers everything (one scan, one remote exec, the local owner, the daemon, the connect)
  await r.run(`port ${port} remote`, async () => {
    let link: AgentLink | undefined;
    if (deployed) {
      const t = await tryTransport(conn, deployed, 'stdio');
      link = t.link;
      if (link) links.push(link);
    }
    const sockets = link ? await socketsOn(link, port) : [];
    const [facts, owners, daemon] = await Promise.all([
      remotePortFacts(conn, port),
      o.local.localOwners(port),
      o.local.daemon(),
    ]);
    const e2e = await endToEnd(conn, port, sockets, daemon, o.target);
    steps = explainPort({
      port,
      target: o.target,
      sockets,
      pids: facts.pids,
      interfaces: facts.interfaces,
      filter: o.filter ?? { defaultExcludes: true },
      ...(o.attributes ? { attributes: o.attributes } : {}),
      agentPorts: link?.ownPorts ?? [],
      localOwners: owners,
      daemon,
      ...(e2e ? { endToEnd: e2e } : {}),
    });
    return steps[0]?.outcome ?? skip('nothing to explain');
  });
  for (const name of ['rules', 'address', 'local', 'forward', 'end to end']) {
    const s = steps?.find((x) => x.name === `port ${port} ${name}`);
    await r.run(`port ${port} ${name}`, () => s?.outcome ?? skip('not gathered (see above)'));
  }
}
