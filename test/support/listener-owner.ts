import { run } from '../harness/index.ts';

/** Who listens on 127.0.0.1:port here: `port-linker` (the process `pid`), another command's name (`ssh`), or ''. */
export async function listenerOwner(port: number, pid: number | undefined): Promise<string> {
  const out = (await run(['ss', '-Hltnp', `sport = :${port}`])).stdout;
  const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(out);
  if (!m) return '';
  return Number(m[2]) === pid ? 'port-linker' : (m[1] as string);
}

/** The local addresses of the TCP sockets in LISTEN state that `pid` owns here. */
export async function listenersOf(pid: number): Promise<string[]> {
  const out = (await run(['ss', '-Hltnp'])).stdout;
  return out
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => l.trim().split(/\s+/)[3] ?? '?');
}
