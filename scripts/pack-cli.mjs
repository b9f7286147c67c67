// Packs the CLI as an installable npm package: `node scripts/pack-cli.mjs [--out DIR]` -> DIR/port-linker-<v>.tgz
// (default DIR: dist/ at the root). Needs `npm run build` and `npm run build:agents` first; says so otherwise.
//
// The tarball holds what the installed command reads at run time, laid out as in the checkout so the same lookups
// work (the agent artifacts are found by walking up from the bundle to an `agent/dist/` folder):
//   package.json     name `port-linker`, the CLI's version, bin, engines, and the registry dependencies of every
//                    workspace package the CLI bundles (their ranges as those packages declare them)
//   bin/port-linker.js, dist/main.js, dist/chunks/, dist/dashboard/   the esbuild bundle and the dashboard page
//   agent/dist/      agent.cjs (uploaded to remotes with Node), agent-quic.cjs + quic-<platform>.node (QUIC side),
//                    bin/<platform>/port-linker-agent.gz + manifest.json (single executables for remotes without Node)
//   README.md, LICENSE, CHANGELOG.md when present

import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

function fail(msg) {
  process.stderr.write(`pack-cli: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  let out = join(root, 'dist');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && argv[i + 1]) out = resolve(argv[++i]);
    else fail(`unknown argument ${argv[i]}: usage: pack-cli.mjs [--out DIR]`);
  }
  return { out };
}

/** Workspace packages by name -> their package.json. */
function workspace() {
  const byName = new Map();
  for (const dir of readdirSync(join(root, 'packages'))) {
    const file = join(root, 'packages', dir, 'package.json');
    if (existsSync(file)) byName.set(readJson(file).name, readJson(file));
  }
  return byName;
}

/** Registry dependencies of `name` and every workspace package it reaches; two different ranges are an error. */
export function registryDependencies(name, byName = workspace()) {
  const deps = {};
  const seen = new Set();
  const visit = (pkgName) => {
    if (seen.has(pkgName)) return;
    seen.add(pkgName);
    const pkg = byName.get(pkgName);
    if (!pkg) fail(`${pkgName} is not a workspace package`);
    for (const [dep, range] of Object.entries(pkg.dependencies ?? {})) {
      if (byName.has(dep)) visit(dep);
      else if (deps[dep] !== undefined && deps[dep] !== range)
        fail(`${dep} is asked as ${deps[dep]} and as ${range} by workspace packages: make them agree`);
      else deps[dep] = range;
    }
  };
  visit(name);
  return Object.fromEntries(Object.entries(deps).sort(([a], [b]) => a.localeCompare(b)));
}

function main() {
  const { out } = parseArgs(process.argv.slice(2));
  const cli = readJson(join(root, 'packages/cli/package.json'));
  const cliDist = join(root, 'packages/cli/dist');
  const agentDist = join(root, 'packages/agent/dist');
  if (!existsSync(join(cliDist, 'main.js')) || !existsSync(join(cliDist, 'dashboard', 'index.html')))
    fail('the CLI is not built: run `npm run build` first');
  if (!existsSync(join(agentDist, 'agent.cjs'))) fail('the agent is not built: run `npm run build` first');
  if (!existsSync(join(agentDist, 'manifest.json')))
    fail('no agent executables: run `npm run build:agents` first (remotes without Node need them)');

  const stage = mkdtempSync(join(tmpdir(), 'pl-pack-'));
  try {
    const pkgDir = join(stage, 'package');
    mkdirSync(pkgDir);
    const noMaps = (src) => !src.endsWith('.map');
    cpSync(join(root, 'packages/cli/bin'), join(pkgDir, 'bin'), { recursive: true });
    cpSync(cliDist, join(pkgDir, 'dist'), { recursive: true, filter: noMaps });
    const manifest = readJson(join(agentDist, 'manifest.json'));
    const agentFiles = [
      'agent.cjs',
      'manifest.json',
      ...readdirSync(agentDist).filter((f) => f === 'agent-quic.cjs' || /^quic-.*\.node$/.test(f)),
      ...manifest.binaries.map((b) => b.file),
    ];
    for (const f of agentFiles) {
      if (!existsSync(join(agentDist, f))) fail(`${f} is in the agent manifest but missing: run npm run build:agents`);
      mkdirSync(dirname(join(pkgDir, 'agent/dist', f)), { recursive: true });
      cpSync(join(agentDist, f), join(pkgDir, 'agent/dist', f));
    }
    for (const f of ['README.md', 'LICENSE', 'CHANGELOG.md'])
      if (existsSync(join(root, f))) cpSync(join(root, f), join(pkgDir, f));
    const rootPkg = readJson(join(root, 'package.json'));
    const pkg = {
      name: 'port-linker',
      version: cli.version,
      description: rootPkg.description,
      license: 'MIT',
      type: 'module',
      bin: { 'port-linker': 'bin/port-linker.js' },
      // the daemon's client library for other Node tools (JavaScript; its types are in the repository)
      exports: { './client': './dist/client.js', './package.json': './package.json' },
      engines: rootPkg.engines,
      os: ['linux', 'darwin'],
      dependencies: registryDependencies(cli.name),
    };
    writeFileSync(join(pkgDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
    mkdirSync(out, { recursive: true });
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', out, '--loglevel=error'], {
        cwd: pkgDir,
        encoding: 'utf8',
      }),
    )[0];
    const tgz = join(out, packed.filename);
    process.stderr.write(
      `pack-cli: ${tgz} (${(packed.size / 1e6).toFixed(1)} MB, ${packed.entryCount} files; agent executables: ${
        manifest.binaries.map((b) => b.platform).join(', ') || 'none'
      })\n`,
    );
    process.stdout.write(`${tgz}\n`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
