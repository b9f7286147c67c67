import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WIRE_PROTOCOL_VERSION } from '@port-linker/proto';
import { RemoteHost, run } from './harness/index.ts';
import { mirrorsWithEachAgent } from './support/shipped-mirror.ts';

const ROOT = join(import.meta.dirname, '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')) as { version: string })
  .version;

// What a user gets from `npm install -g port-linker-<v>.tgz`: the tarball scripts/pack-cli.mjs makes, installed into an
// empty prefix outside the checkout, run from a directory outside it with a fresh HOME.
describe('the npm package: npm pack of the CLI, installed with npm install -g into an empty prefix', () => {
  let dir: string;
  let bin: string;
  let host: RemoteHost;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pl-npm-'));
    const [packed, started] = await Promise.all([
      run([process.execPath, join(ROOT, 'scripts/pack-cli.mjs'), '--out', dir]),
      RemoteHost.start(),
    ]);
    host = started;
    const tgz = packed.stdout.trim();
    assert.match(tgz, new RegExp(`port-linker-${VERSION.replaceAll('.', '\\.')}\\.tgz$`));
    const prefix = join(dir, 'prefix');
    await run(['npm', 'install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error', tgz]);
    bin = join(prefix, 'bin', 'port-linker');
    env = { HOME: join(dir, 'home'), PORT_LINKER_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') };
  });
  after(async () => {
    await host?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('--version prints the package version and the wire protocol version', async () => {
    const r = await run([bin, '--version']);
    assert.equal(r.stdout.trim(), `port-linker ${VERSION} (wire protocol ${WIRE_PROTOCOL_VERSION})`);
    const installed = JSON.parse(readFileSync(join(dir, 'prefix/lib/node_modules/port-linker/package.json'), 'utf8'));
    assert.equal(installed.version, VERSION);
    assert.ok(installed.dependencies.ssh2, 'its real dependencies are declared, not found in a monorepo');
    assert.equal(installed.engines.node, '>=22');
  });

  test('exports the client library as port-linker/client', async () => {
    const script = join(dir, 'prefix', 'lib', 'check-client.mjs');
    writeFileSync(
      script,
      [
        "import { PortLinkerClient } from 'port-linker/client';",
        "const pl = new PortLinkerClient({ socket: '/nonexistent/daemon.sock' });",
        'await pl.status().catch((err) => console.log(err.code));',
      ].join('\n'),
    );
    const r = await run([process.execPath, script]);
    assert.equal(r.stdout.trim(), 'ENODAEMON');
  });

  test('mirrors a real host with the agent it carries (script and single executable)', async () => {
    await mirrorsWithEachAgent([bin], host, env, dir);
  });
});
