import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RemoteHost, run } from '../../test/harness/index.ts';
import { stopChild, track } from './cleanup.ts';
import type { SshTarget } from './tunnel.ts';

const RELAY = join(dirname(fileURLToPath(import.meta.url)), 'wan-relay.py');
/**
 * Debian's python3 (setup-system.sh) rather than the first on PATH: a version manager's shim (pyenv) that is
 * stopped with the relay can leave its lock behind, and every later login shell that runs its init then waits on it.
 */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** A slow, lossy path to the harness host: wan-relay.py plus a second sshd listening on the relay's address. */
export interface WanLink {
  target: SshTarget;
  /** Relay counters printed at exit. */
  stop(): Promise<string>;
}

/** Starts the relay (delay and loss on the client-to-server direction, like netem on the client's egress). */
export async function startWanLink(host: RemoteHost, dir: string, delayMs: number, loss: number): Promise<WanLink> {
  const used = (await run(['ip', '-o', '-4', 'addr', 'show'])).stdout;
  let subnet = '';
  do subnet = `10.${250 + ((randomBytes(1)[0] ?? 0) % 5)}.${randomBytes(1)[0] ?? 0}`;
  while (used.includes(` ${subnet}.`));
  const relay = track(
    spawn(
      PYTHON,
      [
        RELAY,
        '--ns',
        host.ns,
        '--dev-a',
        `${host.ns}wa`,
        '--dev-b',
        `${host.ns}wb`,
        '--addr-a',
        `${subnet}.1/24`,
        '--addr-b',
        `${subnet}.2/24`,
        '--delay-ms',
        String(delayMs),
        '--loss',
        String(loss),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  let out = '';
  let err = '';
  relay.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  await new Promise<void>((resolve, reject) => {
    relay.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('wan-relay ready')) resolve();
    });
    relay.once('exit', (code) => reject(new Error(`wan-relay.py exited ${code}: ${err.trim()}`)));
  });
  const address = `${subnet}.2`;
  const config = readFileSync(join(host.dir, 'sshd_config'), 'utf8')
    .replace(/^ListenAddress .*$/m, `ListenAddress ${address}:22`)
    .replace(/^PidFile .*$/m, `PidFile ${join(dir, 'sshd-wan.pid')}`);
  const configPath = join(dir, 'sshd_config.wan');
  writeFileSync(configPath, config);
  const sshd = track(host.spawnSshd(['/usr/sbin/sshd', '-D', '-e', '-f', configPath]));
  for (let i = 0; ; i++) {
    const ss = await host.exec(['ss', '-Hltn', `sport = :22 and src ${address}`]);
    if (ss.stdout.trim()) break;
    if (i > 500 || sshd.exitCode !== null) throw new Error('the WAN sshd did not start');
    await new Promise((r) => setTimeout(r, 10));
  }
  const knownHostsPath = join(dir, 'known_hosts.wan');
  writeFileSync(knownHostsPath, `${address} ${host.hostPublicKey}\n`, { mode: 0o600 });
  return {
    target: { address, user: host.user, keyPath: host.clientKeyPath, knownHostsPath },
    stop: async () => {
      await stopChild(sshd, 'SIGKILL');
      await stopChild(relay, 'SIGTERM');
      return out.trim().split('\n').pop() ?? '';
    },
  };
}
