import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { HostOptions } from '@port-linker/engine';
import {
  findProfileFile,
  loadProfiles,
  ProfileError,
  refuseUntrustedCommands,
  sshOptionArgs,
  toHostOptions,
} from '@port-linker/profiles';
import { parseTarget, type ResolvedHost, resolveHost } from '@port-linker/ssh';

/** A saved profile ready for the engine. */
export interface ProfileHost {
  name: string;
  resolved: ResolvedHost;
  options: HostOptions;
}

/** Relative paths in a profile are relative to its file. */
const fromFile = (path: string, file: string) =>
  path.startsWith('~') || isAbsolute(path) ? path : resolve(dirname(file), path);

/**
 * The named profiles (`port-linker --profile NAME`) from `file` or the usual places, resolved like targets: their
 * ssh settings, options and port attributes. Throws a one-line error naming the file.
 */
export async function loadNamedProfiles(
  names: string[],
  file: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<ProfileHost[]> {
  const home = env.HOME || homedir();
  const path = findProfileFile({ cwd: process.cwd(), home, ...(file ? { file } : {}) });
  if (!path) {
    throw new ProfileError(
      'port-linker.yml',
      undefined,
      'no profiles file here or in a parent, nor ~/.config/port-linker/profiles.yml: write one or pass -f FILE',
    );
  }
  const { profiles } = loadProfiles(path, { home });
  refuseUntrustedCommands(
    path,
    profiles.filter((p) => names.includes(p.name)),
    file !== undefined,
  );
  return names.map((name) => {
    const p = profiles.find((x) => x.name === name);
    if (!p) {
      throw new ProfileError(
        path,
        undefined,
        `no profile ${name} (it has: ${profiles.map((x) => x.name).join(', ') || 'none'})`,
      );
    }
    const resolved = resolveHost(parseTarget(p.host), {
      ...(p.sshConfig ? { configFile: fromFile(p.sshConfig, path) } : {}),
      identities: p.identities.map((i) => fromFile(i, path)),
      ...(p.jump ? { jump: p.jump } : {}),
      options: sshOptionArgs(p),
    });
    const options: HostOptions = {
      ...toHostOptions(p),
      ...(p.attributes.size > 0 ? { attributes: p.attributes } : {}),
    };
    return { name, resolved, options };
  });
}
