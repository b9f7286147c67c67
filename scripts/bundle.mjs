// Bundles a shipping artifact with esbuild: `node scripts/bundle.mjs cli|agent|quic`.
//   cli   -> packages/cli/dist/main.js    (ESM; npm dependencies stay external, resolved from node_modules; lazily
//            imported modules such as the QUIC entry go to dist/chunks/, so their externals load only when used)
//            and the dashboard page -> packages/cli/dist/dashboard/ (app.js: Preact and the page, minified for
//            browsers; index.html, app.css, icon.svg copied): the daemon serves it, nothing is fetched at run time
//   standalone -> packages/cli/dist-standalone/port-linker.cjs (CJS, everything but native addons bundled: the
//            script of the standalone executables, scripts/build-standalone.mjs)
//   agent -> packages/agent/dist/agent.cjs (CJS, self-contained: the one file uploaded to a remote Node)
//   quic  -> packages/agent/dist/agent-quic.cjs + quic-linux-x64.node (the agent's QUIC side, uploaded only when
//            the host asks for quic; the bundle loads the addon from a path the agent gives it at run time)

import { copyFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const which = process.argv[2];

/** Every registry dependency named by a workspace package (kept out of the CLI bundle). */
function registryDependencies() {
  const names = new Set();
  for (const dir of readdirSync(join(root, 'packages'))) {
    const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
    for (const name of Object.keys(pkg.dependencies ?? {})) if (!name.startsWith('@port-linker/')) names.add(name);
  }
  return [...names];
}
const common = { bundle: true, platform: 'node', target: 'node18', logLevel: 'warning', legalComments: 'none' };

/** Native addon builds of @matrixai/quic shipped to agents: `<platform>` -> npm package (only installed ones are copied). */
const QUIC_ADDONS = { 'linux-x64': '@matrixai/quic-linux-x64' };

/**
 * Vendor patches Q4, Q5 (docs/vendor-patches.md).
 * Replaces @matrixai/quic's native loader (dist/native/quiche.js: `createRequire(import.meta.url)` of a package
 * name, impossible in a CJS bundle or a single executable) with one that `process.dlopen`s the path the agent put
 * in a global before requiring the bundle (the addon travels as its own content-addressed file).
 */
const quicAddonFromPath = {
  name: 'quic-addon-from-path',
  setup(b) {
    b.onLoad({ filter: /@matrixai[\\/]quic[\\/]dist[\\/]native[\\/]quiche\.js$/ }, () => ({
      loader: 'js',
      contents: `const path = globalThis[Symbol.for('port-linker.quic-addon')];
if (typeof path !== 'string') throw new Error('agent-quic.cjs: the QUIC addon path was not set');
const addon = { exports: {} };
process.dlopen(addon, path);
export default addon.exports;`,
    }));
  },
};

if (which === 'cli') {
  rmSync(join(root, 'packages/cli/dist/chunks'), { recursive: true, force: true });
  await build({
    ...common,
    // main: the CLI; client: @port-linker/client, which the npm package exports as `port-linker/client`
    entryPoints: { main: join(root, 'packages/cli/src/main.ts'), client: join(root, 'packages/client/src/index.ts') },
    outdir: join(root, 'packages/cli/dist'),
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true,
    format: 'esm',
    target: 'node22',
    // workspace packages (TypeScript sources) are bundled; registry packages stay external
    external: registryDependencies(),
    sourcemap: 'linked',
  });
  const page = join(root, 'packages/cli/dist/dashboard');
  rmSync(page, { recursive: true, force: true });
  await build({
    bundle: true,
    logLevel: 'warning',
    legalComments: 'none',
    entryPoints: [join(root, 'packages/dashboard/src/app.tsx')],
    outfile: join(page, 'app.js'),
    platform: 'browser',
    format: 'esm',
    target: ['chrome110', 'firefox115', 'safari16'],
    minify: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
  });
  const statics = join(root, 'packages/dashboard/static');
  for (const f of readdirSync(statics)) copyFileSync(join(statics, f), join(page, f));
} else if (which === 'standalone') {
  // one CommonJS file for the standalone executables (a SEA runs one CJS script): every dependency bundled but
  // the native ones, which a SEA cannot load from its own bytes: ssh2's optional crypto binding and cpu-features
  // (ssh2 falls back to Node's crypto without them) and @matrixai/quic (the host side of --transport quic)
  await build({
    ...common,
    entryPoints: [join(root, 'packages/cli/src/standalone-main.ts')],
    outfile: join(root, 'packages/cli/dist-standalone/port-linker.cjs'),
    format: 'cjs',
    target: 'node22',
    minify: true,
    keepNames: true,
    external: ['cpu-features', '@matrixai/quic', '*.node'],
    // only the two lookups that the standalone-assets hook answers first read it
    define: { 'import.meta.url': '"file:///port-linker-standalone/port-linker.cjs"' },
  });
} else if (which === 'agent') {
  await build({
    ...common,
    entryPoints: [join(root, 'packages/agent/src/main.ts')],
    outfile: join(root, 'packages/agent/dist/agent.cjs'),
    format: 'cjs',
    minify: true,
  });
} else if (which === 'quic') {
  await build({
    ...common,
    entryPoints: [join(root, 'packages/agent/src/quic-entry.ts')],
    outfile: join(root, 'packages/agent/dist/agent-quic.cjs'),
    format: 'cjs',
    minify: true,
    keepNames: true, // @matrixai/quic names its event types after its event classes (`EventQUIC...`.name)
    plugins: [quicAddonFromPath],
  });
  const require = createRequire(join(root, 'packages/transport/package.json'));
  for (const [platform, pkg] of Object.entries(QUIC_ADDONS)) {
    let addon;
    try {
      addon = require.resolve(`${pkg}/node.napi.node`);
    } catch {
      continue; // not installed on this build machine (npm installs only the build machine's platform)
    }
    copyFileSync(addon, join(root, `packages/agent/dist/quic-${platform}.node`));
  }
} else {
  console.error('usage: node scripts/bundle.mjs cli|standalone|agent|quic');
  process.exit(2);
}
