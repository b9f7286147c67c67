import { basename } from 'node:path';
import { PROJECT_FILE } from './find-profile-file.ts';
import type { Profile } from './profile.ts';
import { ProfileError } from './profile-error.ts';

/** ssh options that make ssh (and port-linker) run a program on this machine. */
const RUNS_A_PROGRAM = new Set(['proxycommand', 'localcommand', 'knownhostscommand']);

/**
 * A `port-linker.yml` found by walking up from the working directory may come with a cloned repository: it must not
 * make `up` or `--profile` run programs here. A profile of such a file that sets ProxyCommand, LocalCommand or
 * KnownHostsCommand, or reads an ssh_config of its own (which could), is refused unless the file was named with
 * `-f` (`named`) or is the user's own (`~/.config/port-linker/profiles.yml`). Throws ProfileError.
 */
export function refuseUntrustedCommands(path: string, profiles: readonly Profile[], named: boolean): void {
  if (named || basename(path) !== PROJECT_FILE) return;
  for (const p of profiles) {
    const key = Object.keys(p.sshOptions).find((k) => RUNS_A_PROGRAM.has(k.toLowerCase()));
    const what = key
      ? `sets ${key}, which runs a program on this machine`
      : p.sshConfig
        ? `reads its own ssh_config (${p.sshConfig}), which can run programs on this machine`
        : undefined;
    if (what)
      throw new ProfileError(
        path,
        undefined,
        `profile ${p.name} ${what}; a port-linker.yml found from the working directory is not trusted for that: pass it with -f ${path} if you trust it`,
      );
  }
}
