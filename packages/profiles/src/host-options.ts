import { displayPath } from './describe-data.ts';
import type { Profile } from './profile.ts';
import { ProfileError } from './profile-error.ts';

/** Exactly the engine's HostOptions fields (packages/engine/src/host-options.ts), without importing the engine. */
export interface ProfileHostOptions {
  auto: boolean;
  protocol: Profile['protocol'];
  transport: Profile['transport'];
  agent: Profile['agent'];
  conflict: Profile['conflict'];
  bindAddress?: string;
  localForwards: string[];
  forwardNames?: Record<string, string>;
  ports?: string;
  exclude?: string;
  defaultExcludes: boolean;
  logLevel: Profile['logLevel'];
}

/**
 * The profile as the engine's HostOptions (a plain object; optional fields only when set). Throws ProfileError
 * at a forward this version cannot run (type remote or dynamic), so none is dropped silently.
 */
export function toHostOptions(profile: Profile): ProfileHostOptions {
  const index = profile.forwards.findIndex((f) => f.type !== 'local');
  const other = profile.forwards[index];
  if (other) {
    const where = displayPath({ profiles: { [profile.name]: { forwards: profile.forwards } } }, [
      'profiles',
      profile.name,
      'forwards',
      index,
    ]);
    const reason = `${where} is a ${other.type} forward, which this port-linker cannot run yet; remove it or use type: local`;
    throw new ProfileError(other.at.file, other.at, reason);
  }
  return {
    auto: profile.auto,
    protocol: profile.protocol,
    transport: profile.transport,
    agent: profile.agent,
    conflict: profile.conflict,
    ...(profile.bindAddress === undefined ? {} : { bindAddress: profile.bindAddress }),
    localForwards: profile.forwards.map((f) => f.spec),
    ...(profile.forwards.some((f) => f.name)
      ? {
          forwardNames: Object.fromEntries(
            profile.forwards.filter((f) => f.name).map((f) => [f.spec, f.name as string]),
          ),
        }
      : {}),
    ...(profile.ports === undefined ? {} : { ports: profile.ports }),
    ...(profile.exclude === undefined ? {} : { exclude: profile.exclude }),
    defaultExcludes: profile.defaultExcludes,
    logLevel: profile.logLevel,
  };
}

/** The profile's ssh options in the command line's `-o Key=value` form, in file order. */
export function sshOptionArgs(profile: Profile): string[] {
  return Object.entries(profile.sshOptions).map(([key, value]) => `${key}=${value}`);
}
