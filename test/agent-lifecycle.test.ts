import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RemoteHost, waitFor } from './harness/index.ts';
import { ensureAgentBundle, pidAlive, ROOT } from './support/agent-bundle.ts';

const SILENCE_MS = 2000;

/** A separate host process (so it can be killed -9) that deploys and starts an agent; resolves with the agent pid. */
async function startHostProcess(host: RemoteHost): Promise<{ child: ChildProcess; agentPid: number }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'test', 'support', 'agent-host-child.ts'),
      JSON.stringify({
        host: host.address,
        port: host.port,
        username: host.user,
        keyPath: host.clientKeyPath,
        silenceTimeoutMs: SILENCE_MS,
      }),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d;
  });
  const agentPid = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(JSON.parse(line).pid);
    });
    child.on('exit', (code) => reject(new Error(`host process exited ${code}: ${err.trim()}`)));
  });
  return { child, agentPid };
}

describe('agent lifecycle: no orphan agents', () => {
  let host: RemoteHost;
  let xdg: string;
  const children: ChildProcess[] = [];

  before(async () => {
    ensureAgentBundle();
    xdg = mkdtempSync(join(tmpdir(), 'pl-lifecycle-cache-'));
    host = await RemoteHost.start({ sshdConfig: [`SetEnv XDG_CACHE_HOME=${xdg}`] });
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await host?.linkUp().catch(() => undefined);
    await host?.close();
    rmSync(xdg, { recursive: true, force: true });
  });

  test('host killed -9: the agent exits within seconds (its SSH channel closes)', async () => {
    const { child, agentPid } = await startHostProcess(host);
    children.push(child);
    assert.ok(pidAlive(agentPid), `agent ${agentPid} runs`);
    const t0 = Date.now();
    child.kill('SIGKILL');
    await waitFor(() => !pidAlive(agentPid), `agent ${agentPid} to exit`, 5000);
    const took = Date.now() - t0;
    // well before the 2 s silence timeout could fire: the channel close (stdin EOF) ended it
    assert.ok(took < 1200, `exited ${took} ms after the kill`);
  });

  test('host killed -9 behind a dead network: the agent exits within its silence timeout', async () => {
    const { child, agentPid } = await startHostProcess(host);
    children.push(child);
    await new Promise((r) => setTimeout(r, SILENCE_MS * 1.5));
    assert.ok(pidAlive(agentPid), 'host pings keep the agent alive past its silence timeout');
    await host.linkDown(); // sshd never hears that the host died: only the silence timeout can end the agent
    const t0 = Date.now();
    child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, SILENCE_MS / 2));
    assert.ok(pidAlive(agentPid), 'still there before the timeout (so it is the timeout that ends it)');
    await waitFor(() => !pidAlive(agentPid), `agent ${agentPid} to exit`, SILENCE_MS + 3000);
    const took = Date.now() - t0;
    assert.ok(took < SILENCE_MS + 3000, `exited ${took} ms after the kill`);
    await host.linkUp();
  });
});
