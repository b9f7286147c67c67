import type { Profile } from './profile.ts';

/** Exactly the engine's HostOptions fields (packages/engine/src/host-options.ts), without importing the engine. */
export interface ProfileHostOptions {
  auto: boolean;
  protocol: Profile['protocol'];
  transport: Profile['transport'];
  agent: Profile['agent'];
  conflict: Profile['conflict'];
  bindAddress?: string;
  localForwards: string[];
  remoteForwards?: string[];
  dynamicForwards?: string[];
  forwardNames?: Record<string, string>;
  ports?: string;
  exclude?: string;
  defaultExcludes: boolean;
  logLevel: Profile['logLevel'];
}

/** The profile as the engine's HostOptions (a plain object; optional fields only when set). */
export function toHostOptions(profile: Profile): ProfileHostOptions {
  const of = (type: string) => profile.forwards.filter((f) => f.type === type).map((f) => f.spec);
  const remote = of('remote');
  const dynamic = of('dynamic');
  return {
    auto: profile.auto,
    protocol: profile.protocol,
    transport: profile.transport,
    agent: profile.agent,
    conflict: profile.conflict,
    ...(profile.bindAddress === undefined ? {} : { bindAddress: profile.bindAddress }),
    localForwards: of('local'),
    ...(remote.length > 0 ? { remoteForwards: remote } : {}),
    ...(dynamic.length > 0 ? { dynamicForwards: dynamic } : {}),
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
