import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The state directory (docs/PRODUCT.md, section 9): `$PORT_LINKER_HOME`, else `$XDG_STATE_HOME/port-linker`, else
 * `~/.local/state/port-linker`. Created mode 0700 on first use.
 */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PORT_LINKER_HOME) return env.PORT_LINKER_HOME;
  const base = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'port-linker');
}

/** Creates the state directory (0700) and returns its path. */
export function ensureStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = stateDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
