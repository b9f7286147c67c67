import type { CommandIo } from './command-io.ts';
import { absolutePath } from './connect-command.ts';
import type { ConnectionFlags } from './exec-command.ts';

/** One step of `port-linker test`, with its time. */
export interface TestStep {
  name: 'connect' | 'auth' | 'exec' | 'channel';
  ok: boolean;
  ms: number;
  detail: string;
}

/**
 * `port-linker test <target>`: a quick end-to-end check on a fresh connection (not the daemon's): TCP connect, key
 * exchange and host key; authentication; `exec true`; one direct-tcpip channel open (what every forward needs).
 * Prints each step with its time; exit 0 when all passed, 1 otherwise. `port-linker doctor` explains failures.
 */
export async function testCommand(
  target: string,
  o: ConnectionFlags & { json?: boolean },
  io: CommandIo,
): Promise<number> {
  const ssh = await import('@port-linker/ssh');
  const steps: TestStep[] = [];
  const t0 = performance.now();
  let mark = t0;
  const step = (name: TestStep['name'], ok: boolean, detail: string) => {
    const now = performance.now();
    steps.push({ name, ok, ms: Math.round((now - mark) * 10) / 10, detail });
    mark = now;
  };
  const report = () => {
    const ok = steps.length === 4 && steps.every((s) => s.ok);
    const total = Math.round(performance.now() - t0);
    if (o.json) io.stdout(`${JSON.stringify({ target, ok, ms: total, steps })}\n`);
    else {
      for (const s of steps)
        io.stdout(
          `${s.ok ? 'ok  ' : 'FAIL'}  ${s.name.padEnd(8)} ${`${s.ms.toFixed(1)} ms`.padStart(10)}  ${s.detail}\n`,
        );
      io.stdout(
        `${target}: ${ok ? 'OK' : 'FAILED'} in ${total} ms${ok ? '' : ` (see port-linker doctor ${target})`}\n`,
      );
    }
    return ok ? 0 : 1;
  };
  let resolved: ReturnType<typeof ssh.resolveHost>;
  let prompt: ReturnType<typeof ssh.passwordFilePrompter> | ReturnType<typeof ssh.ttyPrompter>;
  try {
    resolved = ssh.resolveHost(
      ssh.parseTarget(target),
      {
        ...(o.sshConfig ? { configFile: absolutePath(o.sshConfig, io.cwd) } : {}),
        identities: o.identity.map((p) => absolutePath(p, io.cwd)),
        ...(o.jump ? { jump: o.jump } : {}),
        options: o.o,
      },
      io.env.HOME ? { home: io.env.HOME } : {},
    );
    prompt = o.passwordFile ? ssh.passwordFilePrompter(absolutePath(o.passwordFile, io.cwd)) : ssh.ttyPrompter();
  } catch (err) {
    io.stderr(`port-linker: test ${target}: ${(err as Error).message.split('\n')[0]}\n`);
    return 2;
  }
  const where = `${resolved.user}@${resolved.hostname}:${resolved.port}`;
  let handshake = false;
  let how = '';
  let conn: Awaited<ReturnType<typeof ssh.connect>>;
  try {
    conn = await ssh.connect(resolved, {
      ...(prompt ? { prompt } : {}),
      signal: io.signal,
      env: io.env,
      observe: {
        authMethods: () => {
          if (handshake) return;
          handshake = true;
          step('connect', true, `${where}, host key verified`);
        },
        authenticated: (h) => {
          how = h;
        },
      },
    });
  } catch (err) {
    const line = (err as Error).message.split('\n')[0] ?? String(err);
    if (!handshake) step('connect', false, line);
    else step('auth', false, line);
    return report();
  }
  if (!handshake) step('connect', true, `${where}, host key verified`);
  step('auth', true, how || 'none');
  try {
    const r = await conn.exec('true', { timeoutMs: 10_000 });
    step('exec', r.code === 0, r.code === 0 ? '`true` exited 0' : `\`true\` exited ${r.code ?? r.signal}`);
  } catch (err) {
    step('exec', false, (err as Error).message.split('\n')[0] ?? '');
  }
  try {
    // the server's own SSH port, from its side: a refusal still proves that forwarding is allowed
    const ch = await conn.forwardOut('127.0.0.1', 22);
    ch.destroy();
    step('channel', true, 'direct-tcpip to 127.0.0.1:22 opened');
  } catch (err) {
    const msg = (err as Error).message;
    if (/connect failed|refused/i.test(msg)) step('channel', true, 'direct-tcpip allowed (nothing on 127.0.0.1:22)');
    else step('channel', false, `${msg.split('\n')[0]} (forwards will not work)`);
  }
  conn.close();
  return report();
}
