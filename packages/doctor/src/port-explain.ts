import { DEFAULT_EXCLUDES, dialAddress, type PortAttributes, parsePortList } from '@port-linker/forward';
import { isForwardableAddress, type ListeningSocket } from '@port-linker/proto';
import { fail, pass, type StepOutcome, skip } from './step-result.ts';

/** The port filter as the user gave it to doctor (the foreground command's -p, -x, --no-default-excludes). */
export interface PortFilterOptions {
  ports?: string;
  exclude?: string;
  defaultExcludes: boolean;
  protocol?: 'tcp' | 'udp' | 'both';
}

/** A forward the running daemon holds. */
export interface DaemonForward {
  host: string;
  protocol: string;
  remotePort: number;
  localPort: number;
}

/** What the daemon knows: nothing runs, or its pid and forwards. */
export type DaemonView = { running: false } | { running: true; pid: number; forwards: DaemonForward[] };

/** A local process holding a port. */
export interface LocalOwner {
  pid: number;
  name: string;
}

/** Everything gathered about one port, for explainPort. */
export interface PortEvidence {
  port: number;
  target: string;
  /** The remote's listeners on this port (any protocol, any address). */
  sockets: readonly ListeningSocket[];
  /** `tcp/127.0.0.1` -> pid, where the remote's ss said. */
  pids: ReadonlyMap<string, number>;
  /** Remote address -> interface name (`docker0`), from `ip -o addr`. */
  interfaces: ReadonlyMap<string, string>;
  filter: PortFilterOptions;
  attributes?: PortAttributes;
  /** The agent's own transport listeners (never mirrored). */
  agentPorts: readonly number[];
  localOwners: readonly LocalOwner[];
  daemon: DaemonView;
  /** A connection made through the forward (or a direct-tcpip channel when nothing forwards it). */
  endToEnd?: { ok: boolean; detail: string };
}

/** Interface names of container and VM bridges: an address on one is a container's, not the host's. */
const CONTAINER_IFACE = /^(docker|br-|cni|podman|virbr|veth|lxc|lxd|flannel|cali|weave|kube)/;

function socketText(s: ListeningSocket, pids: ReadonlyMap<string, number>): string {
  const pid = pids.get(`${s.protocol}/${s.address}`);
  const who = s.process || pid ? ` (${[s.process || '?', pid ? `pid ${pid}` : ''].filter(Boolean).join(', ')})` : '';
  return `${s.protocol} ${s.address.includes(':') ? `[${s.address}]` : s.address}:${s.port}${who}`;
}

/** Which rule keeps the port from being mirrored, if any: [detail, fix]. */
export function excludingRule(e: PortEvidence): [string, string] | undefined {
  const p = e.port;
  const inside = (list: string, flag: string) => parsePortList(list, flag).some((r) => p >= r.from && p <= r.to);
  if (e.filter.ports !== undefined && !inside(e.filter.ports, '--ports'))
    return [`not in -p/--ports ${e.filter.ports}`, `add ${p} to -p (or drop -p to mirror every port)`];
  if (e.filter.exclude !== undefined && inside(e.filter.exclude, '--exclude'))
    return [`excluded by -x/--exclude ${e.filter.exclude}`, `take ${p} out of -x`];
  if (e.filter.defaultExcludes && DEFAULT_EXCLUDES.includes(p))
    return [
      `a default exclude (${DEFAULT_EXCLUDES.join(', ')}: ssh, dns, rpcbind, cups, mdns, tailscale)`,
      `pass --no-default-excludes, or forward it explicitly with -L ${p}:localhost:${p}`,
    ];
  if (e.attributes?.for(p).onForward === 'ignore')
    return [`the profile's attributes say on_forward: ignore for ${p}`, 'change that attribute in port-linker.yml'];
  if (e.agentPorts.includes(p))
    return ["it is the agent's own transport listener", 'nothing to do: port-linker never mirrors its own agent'];
  const protocols = new Set(e.sockets.map((s) => s.protocol));
  const want = e.filter.protocol ?? 'both';
  if (want !== 'both' && protocols.size > 0 && !protocols.has(want))
    return [
      `it listens on ${[...protocols].join('/')} only and --protocol is ${want}`,
      `pass --protocol both (or ${[...protocols][0]})`,
    ];
  return undefined;
}

/** The --port steps: remote listener, rules, address, local port, forward, end to end; in that order. */
export function explainPort(e: PortEvidence): Array<{ name: string; outcome: StepOutcome }> {
  const p = e.port;
  const steps: Array<{ name: string; outcome: StepOutcome }> = [];
  const add = (name: string, outcome: StepOutcome) => steps.push({ name: `port ${p} ${name}`, outcome });
  const seen = e.sockets.length > 0;

  add(
    'remote',
    seen
      ? pass(`the scanner sees ${e.sockets.map((s) => socketText(s, e.pids)).join(', ')}`)
      : fail(
          `nothing listens on port ${p} on the remote (as the scanner sees it)`,
          `start the service on the remote, or check the port it uses`,
        ),
  );

  const rule = excludingRule(e);
  add(
    'rules',
    rule
      ? fail(`not mirrored: ${rule[0]}`, rule[1])
      : pass(
          `no rule excludes it (-p ${e.filter.ports ?? 'all'}, -x ${e.filter.exclude ?? 'none'}, default excludes ${e.filter.defaultExcludes ? 'on' : 'off'}${e.attributes?.size ? ', profile attributes' : ''})`,
        ),
  );

  if (!seen) add('address', skip('no listener'));
  else {
    const addrs = [...new Set(e.sockets.map((s) => s.address))];
    const dial = dialAddress(addrs);
    if (dial && addrs.some(isForwardableAddress))
      add('address', pass(`bound on ${addrs.join(', ')}: dialed at ${dial} on the remote`));
    else {
      const where = addrs
        .map((a) => {
          const iface = e.interfaces.get(a);
          if (!iface) return a;
          return `${a} (${iface}${CONTAINER_IFACE.test(iface) ? ', a container bridge' : ''})`;
        })
        .join(', ');
      const first = addrs[0] ?? '';
      add(
        'address',
        fail(
          `bound only on ${where}: not reachable on the remote's loopback, so it is not mirrored`,
          `bind the service to 0.0.0.0 or 127.0.0.1, or forward it explicitly: -L ${p}:${first.includes(':') ? `[${first}]` : first}:${p}`,
        ),
      );
    }
  }

  const daemonPid = e.daemon.running ? e.daemon.pid : undefined;
  const others = e.localOwners.filter((o) => o.pid !== daemonPid);
  if (e.localOwners.length === 0) add('local', pass(`local port ${p} is free`));
  else if (others.length === 0)
    add('local', pass(`local port ${p} is held by the port-linker daemon (pid ${daemonPid})`));
  else {
    const who = others.map((o) => `${o.name || '?'} (pid ${o.pid})`).join(', ');
    add(
      'local',
      fail(
        `local port ${p} is taken by ${who}: port-linker remaps the forward to another local port`,
        `stop ${who} to keep the number, or run with --conflict kill (or --conflict skip)`,
      ),
    );
  }

  let forwarded: DaemonForward | undefined;
  if (!e.daemon.running) add('forward', skip('no daemon runs: a foreground port-linker forwards only while it runs'));
  else {
    const mine = e.daemon.forwards.filter((f) => f.remotePort === p);
    forwarded = mine.find((f) => f.host === e.target) ?? mine[0];
    if (forwarded)
      add(
        'forward',
        pass(`the daemon forwards ${forwarded.host}:${p} (${forwarded.protocol}) to 127.0.0.1:${forwarded.localPort}`),
      );
    else
      add(
        'forward',
        fail(
          `the daemon (pid ${e.daemon.pid}) forwards no port ${p} from ${e.target}`,
          `port-linker connect ${e.target} (or add it to a profile and run port-linker up)`,
        ),
      );
  }

  if (!e.endToEnd) add('end to end', skip(seen ? 'not checked (no TCP listener)' : 'no listener'));
  else
    add(
      'end to end',
      e.endToEnd.ok
        ? pass(e.endToEnd.detail)
        : fail(
            e.endToEnd.detail,
            'check the remote service answers on the remote itself (curl/nc there), then the steps above',
          ),
    );
  return steps;
}
