import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CONFIG_KEYWORDS, configNotes, resolveTraced, sshGLines } from '@port-linker/doctor';
import { runCli } from './support/cli-run.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/ssh-config/doctor');
const FIXTURES = readdirSync(DIR)
  .filter((f) => f.endsWith('.config'))
  .sort();

/**
 * The keywords compared with `ssh -G`: every one `port-linker doctor --config` prints (CONFIG_KEYWORDS), listed here
 * explicitly so that a keyword added there must be added here too.
 */
const COMPARED = [
  'host',
  'user',
  'hostname',
  'port',
  'batchmode',
  'clearallforwardings',
  'exitonforwardfailure',
  'gatewayports',
  'hashknownhosts',
  'identitiesonly',
  'streamlocalbindunlink',
  'stricthostkeychecking',
  'numberofpasswordprompts',
  'serveralivecountmax',
  'serveraliveinterval',
  'ciphers',
  'identityagent',
  'dynamicforward',
  'localforward',
  'remoteforward',
  'identityfile',
  'globalknownhostsfile',
  'userknownhostsfile',
  'connecttimeout',
  'streamlocalbindmask',
  'proxycommand',
  'proxyjump',
];
/** OpenSSH's default IdentityFile list; port-linker's is id_ed25519, id_ecdsa, id_rsa (ssh2 has no DSA/XMSS/sk). */
const OPENSSH_DEFAULT_IDS = ['id_dsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_rsa', 'id_xmss'];

type Lines = Map<string, string[]>;
function parse(text: string): Lines {
  const out: Lines = new Map();
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const k = line.slice(0, sp);
    out.set(k, [...(out.get(k) ?? []), line.slice(sp + 1)]);
  }
  return out;
}

/**
 * The home directory OpenSSH expands `~` and `%d` with: the passwd entry's, whatever $HOME says (a scratch HOME in
 * scripts/check-fresh.sh differs from it). Both sides of the comparison resolve with it.
 */
const SSH_HOME = userInfo().homedir;

/** OpenSSH prints IdentityFile and ProxyCommand before token expansion: expand them with its own values. */
function expand(text: string, g: Lines, target: string): string {
  const v: Record<string, string> = {
    h: g.get('hostname')?.[0] ?? '',
    p: g.get('port')?.[0] ?? '',
    r: g.get('user')?.[0] ?? '',
    u: userInfo().username,
    d: SSH_HOME,
    n: target,
    '%': '%',
  };
  const t = text.replace(/%(.)/g, (all, c: string) => v[c] ?? all);
  return t.startsWith('~/') ? `${SSH_HOME}${t.slice(1)}` : t;
}

test(`doctor --config matches ssh -G on ${FIXTURES.length} fixtures for every compared keyword`, () => {
  assert.ok(FIXTURES.length >= 30, `${FIXTURES.length} fixtures`);
  assert.deepEqual([...COMPARED].sort(), [...CONFIG_KEYWORDS].sort());
  const problems: string[] = [];
  let compared = 0;
  for (const file of FIXTURES) {
    const path = join(DIR, file);
    const targets = /^# targets: (.+)$/m.exec(readFileSync(path, 'utf8'))?.[1]?.split(' ') ?? [];
    assert.ok(targets.length > 0, `${file}: no "# targets:" line`);
    for (const target of targets) {
      const ssh = spawnSync('ssh', ['-G', '-F', path, target], { encoding: 'utf8' });
      assert.equal(ssh.status, 0, `${file} ${target}: ssh -G: ${ssh.stderr}`);
      const g = parse(ssh.stdout);
      const at = target.lastIndexOf('@');
      const traced = resolveTraced(target, { configFile: path }, { home: SSH_HOME });
      const ours = parse(sshGLines(traced).join('\n'));
      const set = (k: string) => new RegExp(`^\\s*${k}\\b`, 'im').test(readFileSync(path, 'utf8'));
      for (const k of COMPARED) {
        let want = g.get(k) ?? [];
        const got = ours.get(k) ?? [];
        if (k === 'host') want = [at >= 0 ? target.slice(at + 1) : target];
        if (k === 'identityfile') {
          if ([...want].sort().join() === OPENSSH_DEFAULT_IDS.map((f) => `~/.ssh/${f}`).join()) {
            want = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => `~/.ssh/${f}`);
          }
          want = want.map((f) => expand(f, g, target));
        }
        if (k === 'proxycommand') want = want.map((c) => expand(c, g, target));
        if (k === 'serveraliveinterval' && !set('ServerAliveInterval')) want = ['15']; // port-linker's default
        if (k === 'connecttimeout' && !set('ConnectTimeout')) want = ['20']; // port-linker's default
        if (k === 'ciphers' && got.length === 0) continue; // printed only when set: ssh2's own list otherwise
        if (k === 'identityagent' && want[0] === 'SSH_AUTH_SOCK' && got.length === 0) continue;
        compared++;
        if (want.join('\n') !== got.join('\n'))
          problems.push(`${file} ${target} ${k}: ssh -G ${JSON.stringify(want)} doctor ${JSON.stringify(got)}`);
      }
    }
  }
  assert.deepEqual(problems, [], `${problems.length} differences in ${compared} comparisons`);
});

test('an unsupported keyword is named at run time (stderr note), and the CLI prints the same lines', async () => {
  const path = join(DIR, '22-canonical-yes.config');
  const notes = configNotes(resolveTraced('cy', { configFile: path }));
  assert.ok(
    notes.some((n) => /CanonicalizeHostname is not supported/.test(n)),
    notes.join('\n'),
  );
  const r = await runCli(['doctor', 'cy', '--config', '-F', path], {});
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${sshGLines(resolveTraced('cy', { configFile: path })).join('\n')}\n`);
  assert.match(r.stderr, /port-linker: note: CanonicalizeHostname is not supported/);
});
