import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { RemoteHost } from '../harness/index.ts';
import { CliProcess } from './cli-process.ts';
import { tcpRoundTrip } from './tcp-client.ts';

/**
 * A shipped port-linker (`command`: the installed npm package, a standalone executable) mirrors an echo service of
 * `host` with each agent it carries: the script (`--agent node`) and the single executable (`--agent binary`).
 * Each mode gets its own state dir under `dir`, which is also the working directory.
 */
export async function mirrorsWithEachAgent(command: string[], host: RemoteHost, env: NodeJS.ProcessEnv, dir: string) {
  const svc = await host.serve('tcp-echo');
  try {
    for (const mode of ['node', 'binary']) {
      const cli = new CliProcess(
        ['--json', '--no-notify', '--agent', mode, ...host.portLinkerArgs(), host.target],
        { ...env, PORT_LINKER_HOME: join(dir, `state-${mode}`) },
        { command, cwd: dir },
      );
      try {
        const agent = await cli.waitEvent((e) => e.event === 'agent', `agent (${mode})`, 60_000);
        assert.equal(agent.mode, mode, JSON.stringify(agent));
        const fwd = await cli.forwardFor(svc.port);
        const echoed = await tcpRoundTrip(fwd.local_port as number, Buffer.from(`shipped ${mode}`));
        assert.equal(echoed.toString(), `shipped ${mode}`);
      } finally {
        assert.equal(await cli.stop(), 0, cli.stderr.slice(-2000));
      }
    }
  } finally {
    await svc.stop();
  }
}
