import { homedir } from 'node:os';
import { dirname } from 'node:path';
import type { HostSpec } from '@port-linker/client';
import { findProfileFile, loadProfiles, type Profile, refuseUntrustedCommands } from '@port-linker/profiles';
import type { CommandIo } from './command-io.ts';
import { absolutePath, addAndWait } from './connect-command.ts';
import { UsageError } from './down-command.ts';

/** A profile as the daemon takes it (paths made absolute against the profile file's directory). */
export function specOfProfile(p: Profile, file: string): HostSpec {
  const base = dirname(file);
  const specs = (type: 'local' | 'remote' | 'dynamic') => p.forwards.filter((f) => f.type === type).map((f) => f.spec);
  const remote = specs('remote');
  const dynamic = specs('dynamic');
  return {
    id: p.name,
    target: p.host,
    profile: p.name,
    profile_file: file,
    identities: p.identities.map((i) => absolutePath(i, base)),
    ...(p.jump ? { jump: p.jump } : {}),
    ...(p.sshConfig ? { ssh_config: absolutePath(p.sshConfig, base) } : {}),
    ssh_options: Object.entries(p.sshOptions).map(([k, v]) => `${k}=${v}`),
    auto: p.auto,
    protocol: p.protocol,
    transport: p.transport,
    agent: p.agent,
    conflict: p.conflict,
    ...(p.bindAddress ? { bind_address: p.bindAddress } : {}),
    local_forwards: specs('local'),
    ...(remote.length > 0 ? { remote_forwards: remote } : {}),
    ...(dynamic.length > 0 ? { dynamic_forwards: dynamic } : {}),
    ...(p.forwards.some((f) => f.name)
      ? { forward_names: Object.fromEntries(p.forwards.filter((f) => f.name).map((f) => [f.spec, f.name as string])) }
      : {}),
    ...(p.ports ? { ports: p.ports } : {}),
    ...(p.exclude ? { exclude: p.exclude } : {}),
    default_excludes: p.defaultExcludes,
    log_level: p.logLevel,
    ...(p.attributes.size > 0
      ? {
          attributes: p.attributes.rules.map((r) => ({
            low: r.low,
            high: r.high,
            ...(r.label === undefined ? {} : { label: r.label }),
            ...(r.onForward === undefined ? {} : { on_forward: r.onForward }),
            ...(r.requireLocalPort === undefined ? {} : { require_local_port: r.requireLocalPort }),
          })),
        }
      : {}),
  };
}

/**
 * `port-linker up [profile...] [-f FILE]`: the profiles (all of the file when none is named) in the daemon, started
 * when none runs; idempotent (an unchanged profile is left alone); waits until every host is connected.
 */
export async function upCommand(
  names: string[],
  opts: { file?: string; timeout: number },
  io: CommandIo,
): Promise<number> {
  const home = io.env.HOME || homedir();
  const file = findProfileFile({ cwd: io.cwd, home, ...(opts.file ? { file: absolutePath(opts.file, io.cwd) } : {}) });
  if (!file) {
    throw new UsageError(
      'up: no profiles file (port-linker.yml here or in a parent, or ~/.config/port-linker/profiles.yml): write one or pass -f FILE',
    );
  }
  const { profiles } = loadProfiles(file, { home });
  const chosen =
    names.length === 0
      ? profiles
      : names.map((n) => {
          const p = profiles.find((x) => x.name === n);
          if (!p)
            throw new UsageError(
              `up: no profile ${n} in ${file} (it has: ${profiles.map((x) => x.name).join(', ') || 'none'})`,
            );
          return p;
        });
  if (chosen.length === 0) throw new UsageError(`up: ${file} has no profiles`);
  refuseUntrustedCommands(file, chosen, opts.file !== undefined);
  return addAndWait(
    chosen.map((p) => specOfProfile(p, file)),
    io,
    opts.timeout * 1000,
  );
}
