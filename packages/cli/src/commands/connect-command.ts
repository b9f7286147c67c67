import { isAbsolute, resolve } from 'node:path';
import type { HostSpec } from '@port-linker/client';
import type { CommandIo } from './command-io.ts';
import { clientFor, ensureDaemon } from './daemon-client.ts';
import { waitConnected } from './wait-connected.ts';

/** A path the user typed, made absolute (the daemon runs in another directory); `~` is left to the resolver. */
export function absolutePath(path: string, cwd: string): string {
  return path.startsWith('~') || isAbsolute(path) ? path : resolve(cwd, path);
}

/** Adds hosts to the daemon (starting it) and waits for them; exit 0, or 4 when one cannot connect (3: auth). */
export async function addAndWait(specs: HostSpec[], io: CommandIo, timeoutMs: number): Promise<number> {
  const progress = (line: string) => io.stderr(`${line}\n`);
  const { client } = await ensureDaemon(io.env, progress);
  for (const spec of specs) {
    const r = await client.call<{ created: boolean; changed: boolean }>('POST', '/v1/hosts', spec);
    if (!r.created && !r.changed) progress(`${spec.id}: already running`);
  }
  const outcomes = await waitConnected(
    client,
    specs.map((s) => s.id),
    progress,
    timeoutMs,
    io.signal,
  );
  const bad = outcomes.filter((o) => !o.ok);
  if (bad.length === 0) return 0;
  return bad.some((o) => o.failed && /auth|host key|permission denied/i.test(o.error ?? '')) ? 3 : 4;
}

/** `port-linker connect <target> [options]`: an ad-hoc host in the daemon, with the foreground command's options. */
export async function connectCommand(argv: string[], io: CommandIo): Promise<number> {
  const { parseCli } = await import('../cli-options.ts');
  const parsed = parseCli(argv, io.env, '', { out: io.stdout, err: io.stderr });
  if (parsed.kind === 'exit') return parsed.code;
  const c = parsed.config;
  const timeout = 60_000;
  const specs: HostSpec[] = c.targets.map((target) => ({
    id: target,
    target,
    identities: c.identities.map((p) => absolutePath(p, io.cwd)),
    ...(c.jump ? { jump: c.jump } : {}),
    ...(c.sshConfig ? { ssh_config: absolutePath(c.sshConfig, io.cwd) } : {}),
    ssh_options: c.sshOptions,
    auto: c.auto,
    protocol: c.protocol,
    transport: c.transport,
    data_path: c.dataPath,
    agent: c.agent,
    conflict: c.conflict,
    ...(c.bindAddress ? { bind_address: c.bindAddress } : {}),
    local_forwards: c.localForwards,
    ...(c.remoteForwards.length ? { remote_forwards: c.remoteForwards } : {}),
    ...(c.dynamicForwards.length ? { dynamic_forwards: c.dynamicForwards } : {}),
    ...(c.ports ? { ports: c.ports } : {}),
    ...(c.exclude ? { exclude: c.exclude } : {}),
    default_excludes: c.defaultExcludes,
    log_level: c.logLevel,
    ...(c.passwordFile ? { password_file: absolutePath(c.passwordFile, io.cwd) } : {}),
  }));
  if (c.passwordFile) {
    // refused here, in the user's terminal, rather than in the daemon's log
    const { readPasswordFile } = await import('@port-linker/ssh');
    try {
      readPasswordFile(absolutePath(c.passwordFile, io.cwd));
    } catch (err) {
      io.stderr(`port-linker: ${(err as Error).message}\n`);
      return 2;
    }
  }
  const code = await addAndWait(specs, io, timeout);
  // one connection id per host, on stdout: what exec, cp and disconnect take
  if (code === 0) for (const s of specs) io.stdout(`${s.id}\n`);
  return code;
}

/** `port-linker disconnect <target>`: the same as `down <target>`. */
export async function disconnectCommand(targets: string[], io: CommandIo): Promise<number> {
  const { downCommand } = await import('./down-command.ts');
  clientFor(io.env);
  return downCommand(targets, {}, io);
}
