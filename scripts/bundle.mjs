// Bundles a shipping artifact with esbuild: `node scripts/bundle.mjs cli|agent`.
//   cli   -> packages/cli/dist/main.js    (ESM; npm dependencies stay external, resolved from node_modules)
//   agent -> packages/agent/dist/agent.cjs (CJS, self-contained: the one file uploaded to a remote Node)

import { readdirSync, readFileSync } from 'node:fs';
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

if (which === 'cli') {
  await build({
    ...common,
    entryPoints: [join(root, 'packages/cli/src/main.ts')],
    outfile: join(root, 'packages/cli/dist/main.js'),
    format: 'esm',
    target: 'node20',
    // workspace packages (TypeScript sources) are bundled; registry packages stay external
    external: registryDependencies(),
    sourcemap: 'linked',
  });
} else if (which === 'agent') {
  await build({
    ...common,
    entryPoints: [join(root, 'packages/agent/src/main.ts')],
    outfile: join(root, 'packages/agent/dist/agent.cjs'),
    format: 'cjs',
    minify: true,
  });
} else {
  console.error('usage: node scripts/bundle.mjs cli|agent');
  process.exit(2);
}
