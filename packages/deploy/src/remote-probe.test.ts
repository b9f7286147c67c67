import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { AgentArtifact } from './agent-artifacts.ts';
import { deployAgent } from './deploy-agent.ts';
import { DeployError } from './errors.ts';
import { installArtifact } from './remote-install.ts';
import { parseProbeOutput, platformOf, probeRemote, probeScript } from './remote-probe.ts';
import type { ExecChannel, ExecResult, RemoteSession } from './remote-session.ts';
import { shellQuote } from './shell-quote.ts';

/** Runs "remote" commands with this machine's sh, in an environment with a private XDG_CACHE_HOME. */
class LocalShellSession implements RemoteSession {
  sftp = true;
  constructor(readonly env: NodeJS.ProcessEnv) {}
  exec(command: string, options: { stdin?: Uint8Array | string } = {}): Promise<ExecResult> {
    return new Promise((resolve) => {
      const child = spawn('sh', ['-c', command], { env: this.env });
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => {
        err += d;
      });
      child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
      child.stdin.end(options.stdin);
    });
  }
  async spawn(command: string): Promise<ExecChannel> {
    const child = spawn('sh', ['-c', command], { env: this.env });
    const exit = new Promise<{ code: number | null }>((r) => child.on('close', (code) => r({ code })));
    return { stdout: child.stdout, stdin: child.stdin, stderr: child.stderr, exit, close: () => child.kill() };
  }
  async writeFile(path: string, data: Uint8Array, mode: number): Promise<void> {
    if (!this.sftp) throw new Error('subsystem request failed on channel 0');
    writeFileSync(path, data, { mode });
  }
}

function artifactOf(bytes: Buffer, kind: AgentArtifact['kind'] = 'script', gz = gzipSync(bytes)): AgentArtifact {
  return {
    kind,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.byteLength,
    gzipped: async () => gz,
    raw: async () => bytes,
  };
}

test('platformOf maps uname pairs to Node names, and keeps unknown ones readable', () => {
  assert.equal(platformOf('Linux', 'x86_64'), 'linux-x64');
  assert.equal(platformOf('Linux', 'aarch64'), 'linux-arm64');
  assert.equal(platformOf('Darwin', 'arm64'), 'darwin-arm64');
  assert.equal(platformOf('Darwin', 'x86_64'), 'darwin-x64');
  assert.equal(platformOf('FreeBSD', 'amd64'), 'freebsd-amd64');
  assert.equal(platformOf('', ''), 'unknown-unknown');
});

test('shellQuote survives sh for awkward words', () => {
  for (const word of ["it's", 'a b', '$HOME', '`id`', '"q"', 'back\\slash', 'new\nline', '', '-n']) {
    const r = spawnSync('sh', ['-c', `printf '%s' ${shellQuote(word)}`], { encoding: 'utf8' });
    assert.equal(r.stdout, word, JSON.stringify(word));
  }
});

test('parseProbeOutput rejects a probe that was cut short', () => {
  assert.throws(() => parseProbeOutput('os=Linux\narch=x86_64\n'), DeployError);
  const facts = parseProbeOutput('os=Linux\narch=x86_64\nnode=\nnode_ok=no\nexec=no\ngzip=yes\nprobe=done\n');
  assert.equal(facts.nodePath, undefined);
  assert.equal(facts.execAllowed, false);
  assert.equal(facts.cachedScript, 'unchecked');
});

test('with startArgs the probe ends in exec as its last line; parseProbeOutput knows probe=agent', () => {
  const script = probeScript({
    scriptSha256: 'ab',
    binarySha256: {},
    checkBinary: 'never',
    startArgs: '--log-level info',
  });
  const lines = script.trimEnd().split('\n');
  assert.match(lines.at(-1) ?? '', /^exec env NODE_OPTIONS= "\$node_path" "\$dir\/\$script_sha" --log-level info$/);
  assert.doesNotMatch(probeScript({ scriptSha256: 'ab', binarySha256: {}, checkBinary: 'never' }), /exec env/);
  const facts = parseProbeOutput('os=Linux\narch=x86_64\nnode_ok=yes\ncached_script=ok\nprobe=agent\n');
  assert.equal(facts.agentStarted, true);
  assert.equal(parseProbeOutput('os=Linux\nprobe=done\n').agentStarted, undefined);
});

test('with QUIC asked for: glibc check, cached quic/<sha> files, and an early start only with them', () => {
  const script = probeScript({
    scriptSha256: 'ab',
    binarySha256: {},
    checkBinary: 'never',
    startArgs: '--log-level info',
    quic: { bundleSha256: 'cd', addonSha256: 'ef' },
  });
  assert.match(script, /getconf GNU_LIBC_VERSION/);
  assert.match(script, /verify "quic\/\$qb"/);
  // both execs sit in the script's last command: nothing of the script is left on stdin for the agent
  const last = script.trimEnd().split('\n').at(-1) ?? '';
  assert.match(
    last,
    /^if .*probe=agent-quic; exec .* --quic-bundle "\$dir\/quic\/\$qb" --quic-addon "\$dir\/quic\/\$qa"; else .*; fi$/,
  );
  assert.doesNotMatch(probeScript({ scriptSha256: 'ab', binarySha256: {}, checkBinary: 'never' }), /GNU_LIBC/);
  const facts = parseProbeOutput(
    'os=Linux\narch=x86_64\nglibc=2.36\nquic_platform=yes\ncached_quic_bundle=ok\ncached_quic_addon=missing\nprobe=agent-quic\n',
  );
  assert.equal(facts.agentStarted, true);
  assert.equal(facts.agentStartedWithQuic, true);
  assert.equal(facts.quicPlatform, true);
  assert.equal(facts.glibc, '2.36');
  assert.equal(facts.cachedQuicBundle, 'ok');
  assert.equal(facts.cachedQuicAddon, 'missing');
  assert.equal(parseProbeOutput('os=Linux\nquic_platform=no\nprobe=done\n').quicPlatform, false);
});

describe('probe and install through a local shell', () => {
  let xdg: string;
  let session: LocalShellSession;
  const script = Buffer.from(
    `if (typeof require !== 'function') process.exit(4);\nprocess.stdout.write(JSON.stringify({ version: 't' }) + '\\n');\n`,
  );
  before(() => {
    xdg = mkdtempSync(join(tmpdir(), 'pl-probe-'));
    session = new LocalShellSession({ ...process.env, XDG_CACHE_HOME: xdg });
  });
  after(() => rmSync(xdg, { recursive: true, force: true }));

  test('the probe creates a 0700 cache and reports node, hash tool, exec and cache state', async () => {
    const art = artifactOf(script);
    const facts = await probeRemote(session, { scriptSha256: art.sha256, binarySha256: {}, checkBinary: 'never' });
    assert.equal(facts.platform, `${process.platform}-${process.arch}`);
    assert.equal(facts.nodeUsable, true);
    assert.equal(facts.nodeVersion, process.versions.node);
    assert.equal(facts.cacheDir, join(xdg, 'port-linker', 'agents'));
    assert.equal(statSync(facts.cacheDir ?? '').mode & 0o777, 0o700);
    assert.equal(facts.hashTool, 'sha256sum');
    assert.equal(facts.execAllowed, true);
    assert.equal(facts.cachedScript, 'missing');
    assert.equal(facts.cachedBinary, 'unchecked');
    // node's version is remembered against ls -Lli of node (no Node start on the next probe)
    const remembered = join(facts.cacheDir ?? '', 'node-version');
    const [id] = readFileSync(remembered, 'utf8').split('\n');
    assert.match(id ?? '', /node$/);
    writeFileSync(remembered, `${id}\n17.0.0\n`);
    const again = await probeRemote(session, { scriptSha256: art.sha256, binarySha256: {}, checkBinary: 'never' });
    assert.equal(again.nodeVersion, '17.0.0');
    assert.equal(again.nodeUsable, false);
    writeFileSync(remembered, `other ${id}\n17.0.0\n`);
    const changed = await probeRemote(session, { scriptSha256: art.sha256, binarySha256: {}, checkBinary: 'never' });
    assert.equal(changed.nodeVersion, process.versions.node, 'another node binary is asked again');
  });

  test('install verifies, self-tests and renames; a corrupt upload leaves nothing behind', async () => {
    const art = artifactOf(script);
    const facts = await probeRemote(session, { scriptSha256: art.sha256, binarySha256: {}, checkBinary: 'never' });
    const dir = facts.cacheDir ?? '';
    const r = await installArtifact(session, facts, art, () => {});
    assert.equal(r.via, 'sftp');
    assert.equal(r.remotePath, join(dir, art.sha256));
    const again = await probeRemote(session, { scriptSha256: art.sha256, binarySha256: {}, checkBinary: 'never' });
    assert.equal(again.cachedScript, 'ok');

    const other = Buffer.from(`${script.toString()}// v2\n`);
    const wrongBytes = artifactOf(other, 'script', gzipSync(script)); // uploads v1 bytes under v2's hash
    await assert.rejects(
      installArtifact(session, facts, wrongBytes, () => {}),
      /sha256 mismatch after upload/,
    );
    const truncated = artifactOf(other, 'script', gzipSync(other).subarray(0, 20));
    await assert.rejects(
      installArtifact(session, facts, truncated, () => {}),
      /gzip -d failed/,
    );
    const noSelfTest = artifactOf(Buffer.from('process.exit(3)\n'));
    await assert.rejects(
      installArtifact(session, facts, noSelfTest, () => {}),
      /self-test failed/,
    );
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('.')),
      [],
      'no temp files left',
    );
  });

  test('a tampered cached file is bad even beside a forged <sha>.signed record of its own hash', async () => {
    const art = artifactOf(script);
    const facts = await probeRemote(session, { scriptSha256: art.sha256, binarySha256: {}, checkBinary: 'never' });
    const dir = facts.cacheDir ?? '';
    await installArtifact(session, facts, art, () => {});
    const file = join(dir, art.sha256);
    const tampered = Buffer.concat([script, Buffer.from(';require("fs").writeFileSync("/tmp/owned", "")\n')]);
    writeFileSync(file, tampered);
    writeFileSync(`${file}.signed`, createHash('sha256').update(tampered).digest('hex'));
    const again = await probeRemote(session, { scriptSha256: art.sha256, binarySha256: {}, checkBinary: 'never' });
    assert.equal(again.cachedScript, 'bad');
    // the executable too, off macOS (only macOS's codesign step writes the record)
    const binSha = createHash('sha256').update('the real executable').digest('hex');
    writeFileSync(join(dir, binSha), 'a planted executable');
    writeFileSync(join(dir, `${binSha}.signed`), createHash('sha256').update('a planted executable').digest('hex'));
    const platform = `${process.platform}-${process.arch}`;
    const bin = await probeRemote(session, { binarySha256: { [platform]: binSha }, checkBinary: 'always' });
    assert.equal(bin.cachedBinary, process.platform === 'darwin' ? 'ok' : 'bad');
  });

  test("a directory, or a link to one, in the agent's place is replaced by the file, not installed into", async () => {
    const art = artifactOf(script);
    const facts = await probeRemote(session, { scriptSha256: art.sha256, binarySha256: {}, checkBinary: 'never' });
    const dir = facts.cacheDir ?? '';
    const file = join(dir, art.sha256);
    const planted = mkdtempSync(join(xdg, 'planted-'));
    writeFileSync(join(planted, 'index.js'), 'process.exit(9)\n'); // what node would run for the directory
    for (const squat of [() => mkdirSync(file), () => symlinkSync(planted, file)]) {
      rmSync(file, { recursive: true, force: true });
      squat();
      const seen = await probeRemote(session, { scriptSha256: art.sha256, binarySha256: {}, checkBinary: 'never' });
      assert.equal(seen.cachedScript, 'bad', 'something else holds the name');
      const r = await installArtifact(session, facts, art, () => {});
      assert.equal(r.remotePath, file);
      assert.ok(lstatSync(file).isFile(), 'the name is the agent file itself');
      assert.equal(readFileSync(file, 'utf8'), script.toString());
    }
    assert.deepEqual(readdirSync(planted), ['index.js'], 'nothing moved into the planted directory');
  });

  test('deployAgent uploads over exec when SFTP is refused, then reuses the cache', async () => {
    const artifacts = mkdtempSync(join(tmpdir(), 'pl-artifacts-'));
    try {
      mkdirSync(artifacts, { recursive: true });
      writeFileSync(join(artifacts, 'agent.cjs'), `${script.toString()}// deployed by deployAgent\n`);
      session.sftp = false;
      // a JS project in the home dir must not turn the extensionless agent file into an ES module
      writeFileSync(join(xdg, 'package.json'), '{"type":"module"}\n');
      const first = await deployAgent(session, { mode: 'node', agentArtifacts: artifacts });
      assert.equal(first.mode, 'node');
      assert.equal(first.via, 'exec');
      assert.ok(first.bytesUploaded > 0);
      const second = await deployAgent(session, { mode: 'auto', agentArtifacts: artifacts });
      assert.equal(second.cached, true);
      assert.equal(second.bytesUploaded, 0);
      // the probe started the cached script in its own channel; its stdout holds only the agent's bytes
      const ch = second.started?.channel;
      assert.ok(ch, 'the probe started the cached agent');
      const out: Buffer[] = [];
      ch.stdout.on('data', (d: Buffer) => out.push(d));
      ch.stdout.resume();
      await ch.exit;
      assert.equal(Buffer.concat(out).toString(), '{"version":"t"}\n');
      const probeOnly = await deployAgent(session, { mode: 'auto', agentArtifacts: artifacts, startInProbe: false });
      assert.equal(probeOnly.cached, true);
      assert.equal(probeOnly.started, undefined);
      const noBinary = await deployAgent(session, { mode: 'binary', agentArtifacts: artifacts });
      assert.equal(noBinary.mode, 'none');
      assert.match(noBinary.reason ?? '', /executable is not built here \(run npm run build:agents\)/);
    } finally {
      session.sftp = true;
      rmSync(artifacts, { recursive: true, force: true });
    }
  });
});
