import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { constants } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { ControlClient, Lease, LookupAnswer } from '@port-linker/client';
import type { CommandIo } from './command-io.ts';
import { ensureDaemon } from './daemon-client.ts';

export interface RunOptions {
  envName: string;
  ttl: number;
  port?: number;
  needs: string[];
  needsTimeout: number;
}

/** `<NAME>_PORT` for a needed service: upper case, anything not a letter or digit as `_`. */
export function needsVariable(service: string): string {
  return `${service.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PORT`;
}

function answers(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port, timeout: 2000 });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(false));
  });
}

/** Waits until every needed service is known and answers a TCP connect; returns NAME_PORT variables. */
async function waitForNeeds(
  client: ControlClient,
  needs: string[],
  timeoutS: number,
  io: CommandIo,
): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  const deadline = Date.now() + timeoutS * 1000;
  for (const service of needs) {
    let last = 'not known yet';
    let shown = false;
    for (;;) {
      let found: LookupAnswer | undefined;
      try {
        found = await client.call<LookupAnswer>('GET', `/v1/lookup?service=${encodeURIComponent(service)}`);
      } catch (err) {
        if ((err as { code?: string }).code !== 'no_service') throw err;
        last = 'no lease, label or remote process has that name yet';
      }
      if (found) {
        if (await answers(found.address, found.port)) {
          vars[needsVariable(service)] = String(found.port);
          io.stderr(`run: ${service} answers on ${found.address}:${found.port}\n`);
          break;
        }
        last = `nothing answers on ${found.address}:${found.port} yet`;
      }
      if (Date.now() > deadline)
        throw Object.assign(
          new Error(`--needs ${service}: ${last} after ${timeoutS} s (see port-linker lookup ${service})`),
          {
            exitCode: 1,
          },
        );
      if (!shown) {
        io.stderr(`run: waiting for ${service} (${last}; up to ${timeoutS} s)\n`);
        shown = true;
      }
      await delay(250, undefined, { signal: io.signal }).catch(() => {
        throw Object.assign(new Error('cancelled while waiting for --needs'), { exitCode: 130 });
      });
    }
  }
  return vars;
}

/**
 * `port-linker run <service> [--env-name PORT] [--ttl S] [--port N] [--needs SERVICE...] -- <command...>`: leases a
 * port, injects it, runs the command with it, renews the lease while it runs and releases it when it ends. Signals
 * go to the command; the exit code is the command's (128 + signal number when a signal ended it). A `run` killed
 * outright leaves a lease naming its pid, which the daemon frees once that process is gone.
 */
export async function runCommand(service: string, command: string[], opts: RunOptions, io: CommandIo): Promise<number> {
  if (command.length === 0)
    throw Object.assign(new Error(`run: give the command after --: port-linker run ${service} -- <command...>`), {
      exitCode: 2,
    });
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.envName))
    throw Object.assign(new Error(`--env-name ${opts.envName}: not a variable name (letters, digits, _)`), {
      exitCode: 2,
    });
  const { client } = await ensureDaemon(io.env, (line) => io.stderr(`${line}\n`));
  const needed = await waitForNeeds(client, opts.needs, opts.needsTimeout, io);
  const { lease } = await client.call<{ lease: Lease }>('POST', '/v1/alloc', {
    service_name: service,
    ttl_seconds: opts.ttl,
    pid: process.pid,
    ...(opts.port === undefined ? {} : { port: opts.port }),
  });
  io.stderr(`run: ${service} on port ${lease.port} (${opts.envName}=${lease.port})\n`);
  // the command owns the terminal's signals now: pass them on instead of stopping this process
  const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;
  for (const sig of forwarded) process.removeAllListeners(sig);
  const child = spawn(command[0] as string, command.slice(1), {
    stdio: 'inherit',
    env: { ...io.env, ...needed, [opts.envName]: String(lease.port) },
  });
  const pass = (sig: NodeJS.Signals) => () => {
    child.kill(sig);
  };
  const handlers = forwarded.map((sig) => [sig, pass(sig)] as const);
  for (const [sig, h] of handlers) process.on(sig, h);
  const renew = setInterval(
    () => {
      client.call('POST', '/v1/heartbeat', { port: lease.port }).catch((err: Error) => {
        io.stderr(`run: warning: could not renew the lease on port ${lease.port}: ${err.message}\n`);
      });
    },
    Math.max(1000, (opts.ttl * 1000) / 3),
  );
  const code = await new Promise<number>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      io.stderr(
        `port-linker: error: cannot run ${command[0]}: ${err.code === 'ENOENT' ? 'no such command' : err.message}\n`,
      );
      resolve(err.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (c, signal) =>
      resolve(c ?? 128 + ((signal && (constants.signals as Record<string, number>)[signal]) || 0)),
    );
  });
  clearInterval(renew);
  for (const [sig, h] of handlers) process.off(sig, h);
  await client.call('POST', '/v1/release', { port: lease.port }).catch(() => {}); // gone already (expired) is fine
  return code;
}
