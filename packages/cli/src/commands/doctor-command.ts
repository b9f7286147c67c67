import { spawnSync } from 'node:child_process';
import type { CommandIo } from './command-io.ts';

/** The options of `port-linker doctor` (the foreground command's ssh and filter options). */
export interface DoctorCommandOptions {
  json?: boolean;
  config?: boolean;
  port?: number;
  identity: string[];
  jump?: string;
  sshConfig?: string;
  o: string[];
  ports?: string;
  exclude?: string;
  defaultExcludes: boolean;
  protocol?: 'tcp' | 'udp' | 'both';
  profile?: string;
  file?: string;
}

/** The local notifier step: a display, and the program node-notifier drives on this platform. */
async function notifierStep(env: NodeJS.ProcessEnv) {
  const { pass, fail, skip } = await import('@port-linker/doctor');
  const { hasDisplay } = await import('../notifier.ts');
  if (!hasDisplay(env))
    return skip(
      'no display (DISPLAY and WAYLAND_DISPLAY unset): desktop notifications are off, which is right on a server',
    );
  if (process.platform !== 'linux') return pass(`${process.platform}: node-notifier's bundled notifier is used`);
  const found = spawnSync('sh', ['-c', 'command -v notify-send'], { encoding: 'utf8' });
  if (found.status === 0) return pass(`notify-send at ${found.stdout.trim()}`);
  return fail(
    'a display is set but notify-send is missing: new ports are not announced',
    'install libnotify-bin (it provides notify-send), or pass --no-notify',
  );
}

/** The running daemon's forwards for --port, or that none runs. */
async function daemonView(env: NodeJS.ProcessEnv) {
  const { clientFor } = await import('./daemon-client.ts');
  const { client } = clientFor(env);
  try {
    const status = await client.call<{ pid: number }>('GET', '/v1/status');
    const { forwards } = await client.call<{
      forwards: Array<{ host: string; localPort: number; spec: { protocol: string; remotePort: number } }>;
    }>('GET', '/v1/forwards');
    return {
      running: true as const,
      pid: status.pid,
      forwards: forwards.map((f) => ({
        host: f.host,
        localPort: f.localPort,
        protocol: f.spec.protocol,
        remotePort: f.spec.remotePort,
      })),
    };
  } catch {
    return { running: false as const };
  }
}

/** `port-linker doctor <target>`: each step checked and explained; `--config`: the settings in `ssh -G` format. */
export async function doctorCommand(target: string, o: DoctorCommandOptions, io: CommandIo): Promise<number> {
  const doctor = await import('@port-linker/doctor');
  const ssh = {
    ...(o.sshConfig ? { configFile: o.sshConfig } : {}),
    identities: o.identity,
    ...(o.jump ? { jump: o.jump } : {}),
    options: o.o,
  };
  if (o.config) {
    const traced = doctor.resolveForConfig(target, ssh);
    io.stdout(`${doctor.sshGLines(traced).join('\n')}\n`);
    for (const note of doctor.configNotes(traced)) io.stderr(`port-linker: note: ${note}\n`);
    return 0;
  }
  let filter = {
    ...(o.ports !== undefined ? { ports: o.ports } : {}),
    ...(o.exclude !== undefined ? { exclude: o.exclude } : {}),
    defaultExcludes: o.defaultExcludes,
    ...(o.protocol ? { protocol: o.protocol } : {}),
  };
  let attributes: import('@port-linker/forward').PortAttributes | undefined;
  if (o.profile) {
    const { loadNamedProfiles } = await import('../profile-hosts.ts');
    const [p] = await loadNamedProfiles([o.profile], o.file, io.env);
    if (p) {
      attributes = p.options.attributes;
      // the command line's -p/-x/--protocol win over the profile's
      filter = {
        ...(p.options.ports !== undefined ? { ports: p.options.ports } : {}),
        ...(p.options.exclude !== undefined ? { exclude: p.options.exclude } : {}),
        protocol: p.options.protocol,
        ...filter,
        defaultExcludes: o.defaultExcludes && p.options.defaultExcludes,
      };
    }
  }
  // validate the lists now: a bad -p is a usage error, not a failed step
  const { parsePortList } = await import('@port-linker/forward');
  if (filter.ports !== undefined) parsePortList(filter.ports, '--ports');
  if (filter.exclude !== undefined) parsePortList(filter.exclude, '--exclude');
  const { findLocalOwners } = await import('../port-killer.ts');
  let index = 0;
  const started = performance.now();
  const results = await doctor.runDoctor({
    target,
    ssh,
    env: io.env,
    signal: io.signal,
    ...(o.port !== undefined ? { port: o.port } : {}),
    filter,
    ...(attributes ? { attributes } : {}),
    local: {
      notifier: () => notifierStep(io.env),
      localOwners: (port) => findLocalOwners(port),
      daemon: () => daemonView(io.env),
    },
    reporter: {
      start: (name) => {
        index++;
        if (!o.json) io.stderr(doctor.progressLine(name, index));
      },
      done: (r) => io.stdout(o.json ? doctor.jsonLine(r) : doctor.humanRow(r)),
    },
  });
  if (!o.json) io.stdout(doctor.humanSummary(results, performance.now() - started));
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
