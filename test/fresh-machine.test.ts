import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

// A clean clone on a machine with only Node, npm and apt must pass `npm ci` and `npm test`: these checks keep the
// set-up honest (every spawned program is installed by scripts/setup-system.sh, the lockfile is complete).

const ROOT = join(import.meta.dirname, '..');
const execFileP = promisify(execFile);

/** Programs every Debian machine has (Essential packages, shell builtins) and the Node toolchain itself. */
const BASE = new Set(
  (
    'node npm npx bash sh env echo read exec true false cat kill sleep id stat grep sed awk ls rm mkdir cp mv ' +
    'tar gzip git uname whoami sha256sum head tail wc chmod chown ln test printf getconf'
  ).split(' '),
);

/** The program list of scripts/setup-system.sh: its `<<'PROGRAMS'` here-document. */
export function programsBlock(script: string): string {
  const m = /<<'PROGRAMS'\n([\s\S]*?)^PROGRAMS$/m.exec(script);
  if (!m?.[1]) throw new Error("scripts/setup-system.sh has no <<'PROGRAMS' here-document");
  return m[1];
}

/** Program names of that list (first column). */
export function listedPrograms(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const program = line.trim().split(/\s+/)[0];
    if (program && !program.startsWith('#')) out.add(program);
  }
  return out;
}

/** A spawn-like call whose first argument is a literal program (lower case, as executables are: not `db.exec(`PRAGMA`). */
const SPAWN_CALL =
  /\b(?:spawn|spawnSync|execFile|execFileSync|execFileP|execSync|exec|run)\(\s*\[?\s*['"`]([a-z/][\w./+-]*)['"`\s]/g;
const ARGV_PREFIX = /=\s*\[\s*['"]([a-z][\w-]*)['"],\s*['"`]--/g;
/** A proxy command setting whose arguments carry a %-token, as real ones do (not prose, not a one-word stub). */
const PROXY_COMMAND = /ProxyCommand[= ]+([A-Za-z/][\w./+-]*) [^'"`\n]*%/g;

/** Executables named by spawn-like calls, argv-prefix arrays and proxy command settings in one source text. */
export function spawnedPrograms(source: string): Set<string> {
  const out = new Set<string>();
  for (const re of [SPAWN_CALL, ARGV_PREFIX, PROXY_COMMAND]) {
    for (const m of source.matchAll(re)) if (m[1]) out.add(m[1]);
  }
  return out;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (/\.(ts|mjs|cjs|js)$/.test(name)) out.push(path);
  }
  return out;
}

test('the spawn scan finds calls, argv prefixes and ProxyCommand, and the list parser skips comments', () => {
  const found = spawnedPrograms(
    `run(['socat', 'x']); host.exec(["ss", "-H"]); spawn(\n 'iperf3', []); const U = ['unshare', '--net'];\n` +
      `createHash('sha256'); spawn(process.execPath, []); 'ProxyCommand socat - TCP:%h:%p'; spawn('/usr/sbin/sshd', [])\n` +
      "test('ProxyCommand carries it'); ['-oProxyCommand=x']; db.exec(`PRAGMA user_version = 2`)",
  );
  assert.deepEqual([...found].sort(), ['/usr/sbin/sshd', 'iperf3', 'socat', 'ss', 'unshare']);
  assert.deepEqual([...listedPrograms('# c\nsocat socat x\n\n  ip iproute2\n')], ['socat', 'ip']);
});

test('every program a test, bench, demo or build script spawns is in the list of scripts/setup-system.sh', () => {
  const listed = listedPrograms(programsBlock(readFileSync(join(ROOT, 'scripts/setup-system.sh'), 'utf8')));
  const dirs = [join(ROOT, 'test'), join(ROOT, 'scripts')];
  for (const pkg of readdirSync(join(ROOT, 'packages'))) dirs.push(join(ROOT, 'packages', pkg));
  const missing: string[] = [];
  for (const dir of dirs) {
    for (const file of sources(dir)) {
      const isPackageSource = file.includes('/packages/') && !file.endsWith('.test.ts') && !file.includes('/bench/');
      if (isPackageSource || file === import.meta.filename) continue;
      for (const program of spawnedPrograms(readFileSync(file, 'utf8'))) {
        if (!BASE.has(program) && !listed.has(program)) missing.push(`${program} (${relative(ROOT, file)})`);
      }
    }
  }
  assert.deepEqual(missing, [], 'add these to the list in scripts/setup-system.sh, with their Debian package');
});

test('scripts/setup-system.sh is silent and succeeds when every listed program is present', async () => {
  const { stdout, stderr } = await execFileP('bash', [join(ROOT, 'scripts/setup-system.sh')]);
  assert.equal(stdout + stderr, '');
});

test('npm ci accepts the lockfile (it records every platform’s optional packages)', async () => {
  // --dry-run checks that package.json and package-lock.json agree without touching node_modules
  const { stdout } = await execFileP(
    'npm',
    ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
    { cwd: ROOT, env: { ...process.env, npm_config_update_notifier: 'false' } },
  ).catch((err: { stderr?: string }) => {
    throw new Error(`npm ci refuses the lockfile: ${String(err.stderr).split('\n').slice(0, 3).join(' ')}`);
  });
  assert.match(stdout, /added \d+ packages|up to date/);
});
