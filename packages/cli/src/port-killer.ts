import { execFile } from 'node:child_process';
import type { SessionLog } from '@port-linker/engine';
import { parseSsOutput } from '@port-linker/scanner';
import type { Prompter } from '@port-linker/ssh';

/** A local process holding a port. */
export interface PortOwner {
  pid: number;
  name: string;
}

function capture(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 3000 }, (err, stdout) => resolve(err && !stdout ? '' : String(stdout)));
  });
}

/** Who listens on local TCP `port`: `ss -Htlnp` on Linux, `lsof` elsewhere. */
export async function findLocalOwners(port: number): Promise<PortOwner[]> {
  const owners = new Map<number, string>();
  if (process.platform === 'linux') {
    const out = await capture('ss', ['-Htlnp', `sport = :${port}`]);
    for (const row of parseSsOutput(out).rows) if (row.pid > 0 && row.port === port) owners.set(row.pid, row.process);
  }
  if (owners.size === 0) {
    const out = await capture('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-Fpc']);
    let pid = 0;
    for (const line of out.split('\n')) {
      if (line.startsWith('p')) pid = Number(line.slice(1));
      else if (line.startsWith('c') && pid > 0) owners.set(pid, line.slice(1));
    }
  }
  return [...owners].map(([pid, name]) => ({ pid, name }));
}

/**
 * The `--conflict kill` policy: finds the local owner of `port`, asks on a TTY (kills without asking
 * when there is none: the user chose kill), sends SIGTERM and waits up to 3 s for the port to free.
 */
export async function killLocalOwner(
  port: number,
  ctx: { log: SessionLog; prompt: Prompter | undefined },
): Promise<boolean> {
  const owners = (await findLocalOwners(port)).filter((o) => o.pid !== process.pid);
  if (owners.length === 0) {
    ctx.log.warn(`local port ${port} is busy but its owner could not be found (try running as root)`);
    return false;
  }
  const who = owners.map((o) => `${o.name || '?'} (pid ${o.pid})`).join(', ');
  if (ctx.prompt) {
    const answer = await ctx.prompt.ask(`local port ${port} is held by ${who}. Kill it? [y/N] `, { secret: false });
    if (!/^y(es)?$/i.test(answer.trim())) return false;
  }
  for (const o of owners) {
    try {
      process.kill(o.pid, 'SIGTERM');
      ctx.log.warn(`killed ${o.name || '?'} (pid ${o.pid}) holding local port ${port}`);
    } catch (err) {
      ctx.log.warn(`cannot kill pid ${o.pid} holding local port ${port}: ${(err as Error).message}`);
    }
  }
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    if ((await findLocalOwners(port)).length === 0) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
