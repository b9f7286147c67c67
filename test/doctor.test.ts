import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { RemoteHost, type RemoteHostOptions, run } from './harness/index.ts';
import { ensureAgentBundle } from './support/agent-bundle.ts';
import { runCli } from './support/cli-run.ts';

interface Step {
  name: string;
  status: 'pass' | 'fail' | 'skip';
  ms: number;
  detail: string;
  fix: string | null;
}

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function scratch(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A harness host whose sessions use a private agent cache (the remote shares this machine's /root). */
async function hostWith(options: RemoteHostOptions = {}, env = ''): Promise<RemoteHost> {
  const xdg = scratch('pl-doctor-cache-');
  const host = await RemoteHost.start({
    ...options,
    sshdConfig: [...(options.sshdConfig ?? []), `SetEnv XDG_CACHE_HOME=${xdg}${env ? ` ${env}` : ''}`],
  });
  cleanups.push(() => host.close());
  return host;
}

/** Runs `port-linker doctor --json`; every stdout line is one step object. */
async function doctor(args: string[]): Promise<{ code: number | null; steps: Step[]; stderr: string }> {
  const home = scratch('pl-doctor-home-');
  const r = await runCli(['doctor', '--json', ...args], { PORT_LINKER_HOME: home, SSH_AUTH_SOCK: '' }, 90_000);
  const steps = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Step);
  for (const s of steps) assert.deepEqual(Object.keys(s), ['name', 'status', 'ms', 'detail', 'fix']);
  return { code: r.code, steps, stderr: r.stderr };
}

function step(steps: Step[], name: string): Step {
  const s = steps.find((x) => x.name === name);
  assert.ok(s, `no step ${name} in ${steps.map((x) => x.name).join(', ')}`);
  return s;
}

function failing(steps: Step[], name: string, detail: RegExp, fix: RegExp): void {
  const s = step(steps, name);
  assert.equal(s.status, 'fail', `${name}: ${s.detail}`);
  assert.match(s.detail, detail);
  assert.match(s.fix ?? '', fix);
}

describe('port-linker doctor against a real sshd', () => {
  test('a healthy host: every step passes or skips, exit 0, the fingerprint in OpenSSH format', async () => {
    ensureAgentBundle();
    const host = await hostWith();
    const t0 = performance.now();
    const { code, steps } = await doctor([host.target, ...host.portLinkerArgs()]);
    const ms = Math.round(performance.now() - t0);
    assert.equal(
      code,
      0,
      steps
        .filter((s) => s.status === 'fail')
        .map((s) => `${s.name}: ${s.detail}`)
        .join('\n'),
    );
    const names = steps.map((s) => s.name);
    for (const n of [
      'ssh config',
      'dns',
      'tcp',
      'ssh banner',
      'host key',
      'auth',
      'tcp forwarding',
      'remote platform',
      'remote node',
      'noexec',
      'agent cache',
      'agent',
      'transport stdio',
      'transport tcp',
      'transport quic',
      'scanner',
      'data path',
      'openssh data plane',
      'notifier',
    ])
      assert.ok(names.includes(n), n);
    assert.match(step(steps, 'ssh banner').detail, /^SSH-2\.0-OpenSSH_/);
    const fp = (await run(['ssh-keygen', '-l', '-f', join(host.dir, 'host_ed25519.pub')])).stdout.split(' ')[1] ?? '';
    assert.ok(fp.startsWith('SHA256:'));
    assert.ok(step(steps, 'host key').detail.includes(fp), step(steps, 'host key').detail);
    assert.match(step(steps, 'auth').detail, /server offers publickey.*logged in with key /);
    assert.match(step(steps, 'scanner').detail, /^procfs; .*root: sees every process/);
    assert.equal(step(steps, 'transport quic').status, 'pass');
    // the three paths timed; which one auto takes (SSH channels or direct) depends on the machine, and the line
    // says whether --data-path openssh would be shorter, with the figures
    assert.match(
      step(steps, 'data path').detail,
      /^auto (would use direct|uses SSH channels).*openssh.*SSH \d+\.\d+ ms, direct \d+\.\d+ ms, OpenSSH \d+\.\d+ ms/,
    );
    assert.match(step(steps, 'openssh data plane').detail, /^--data-path openssh works: .* logged in in \d+ ms$/);
    process.stdout.write(`# full doctor run: ${ms} ms (CLI process start to exit)\n`);
  });

  test('wrong port: the tcp step says refused and points at the port', async () => {
    const host = await hostWith();
    const { code, steps } = await doctor([`${host.target}:2222`, ...host.portLinkerArgs()]);
    assert.equal(code, 1);
    failing(steps, 'tcp', /:2222: connection refused/, /port/);
    assert.equal(step(steps, 'auth').status, 'skip');
  });

  test('unknown host key: fails with the fingerprint and the accept-new fix; auth is not attempted', async () => {
    const host = await hostWith();
    const kh = join(scratch('pl-doctor-kh-'), 'known_hosts');
    writeFileSync(kh, '');
    const { code, steps } = await doctor([
      host.target,
      '-i',
      host.clientKeyPath,
      '-o',
      `UserKnownHostsFile=${kh}`,
      '-o',
      'StrictHostKeyChecking=yes',
    ]);
    assert.equal(code, 1);
    failing(steps, 'host key', /ED25519 SHA256:\S+ for \S+ is not in known_hosts/, /StrictHostKeyChecking=accept-new/);
    assert.equal(step(steps, 'auth').status, 'skip');
  });

  test('changed host key: fails naming the file line and ssh-keygen -R', async () => {
    const host = await hostWith();
    const dir = scratch('pl-doctor-kh-');
    await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other')]);
    const other = readFileSync(join(dir, 'other.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    writeFileSync(join(dir, 'known_hosts'), `${host.address} ${other}\n`);
    const { steps } = await doctor([
      host.target,
      '-i',
      host.clientKeyPath,
      '-o',
      `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
    ]);
    failing(steps, 'host key', /HOST KEY CHANGED: .*known_hosts:1/, /ssh-keygen -R/);
  });

  test('no usable key: auth fails listing what the server offers and the keys here', async () => {
    const host = await hostWith();
    const dir = scratch('pl-doctor-key-');
    await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'stranger')]);
    const { code, steps } = await doctor([
      host.target,
      '-i',
      join(dir, 'stranger'),
      '-o',
      `UserKnownHostsFile=${host.knownHostsPath}`,
    ]);
    assert.equal(code, 1);
    failing(steps, 'auth', /server offers publickey.*stranger ED25519 SHA256:/, /authorized_keys/);
  });

  test('AllowTcpForwarding no: the forwarding step and the tcp transport fail, naming the setting', async () => {
    const host = await hostWith({ sshdConfig: ['AllowTcpForwarding no'] });
    const { code, steps } = await doctor([host.target, ...host.portLinkerArgs()]);
    assert.equal(code, 1);
    failing(steps, 'tcp forwarding', /administratively prohibited/, /AllowTcpForwarding yes/);
    failing(steps, 'transport tcp', /asked for tcp, landed on stdio/, /AllowTcpForwarding/);
    assert.equal(step(steps, 'transport stdio').status, 'pass');
  });

  test('the agent directory on a noexec mount: the noexec step names the mount and the fix', async (t) => {
    const xdg = scratch('pl-doctor-noexec-');
    const mounted = await run(['mount', '-t', 'tmpfs', '-o', 'noexec,size=64m', 'tmpfs', xdg], { allowFail: true });
    if (mounted.code !== 0) {
      t.skip(`cannot mount a noexec tmpfs here: ${mounted.stderr.trim()}`);
      return;
    }
    cleanups.push(async () => void (await run(['umount', xdg], { allowFail: true })));
    const host = await RemoteHost.start({ sshdConfig: [`SetEnv XDG_CACHE_HOME=${xdg}`] });
    cleanups.push(() => host.close());
    const { code, steps } = await doctor([host.target, ...host.portLinkerArgs()]);
    assert.equal(code, 1);
    failing(
      steps,
      'noexec',
      new RegExp(`${xdg}/port-linker/agents is on a noexec mount \\(mounted at ${xdg} with \\S*noexec`),
      /XDG_CACHE_HOME|without noexec/,
    );
  });

  test('no Node and an unsupported CPU: platform and node fail with the install-Node fix', async () => {
    const bin = scratch('pl-doctor-bin-');
    for (const f of readdirSync('/usr/bin'))
      if (f !== 'node' && f !== 'uname') symlinkSync(`/usr/bin/${f}`, join(bin, f));
    writeFileSync(
      join(bin, 'uname'),
      '#!/bin/sh\ncase "$1" in -s) echo Linux ;; -m) echo mips64 ;; *) echo Linux ;; esac\n',
    );
    chmodSync(join(bin, 'uname'), 0o755);
    const host = await hostWith({}, `PATH=${bin}`);
    const { code, steps } = await doctor([host.target, ...host.portLinkerArgs()]);
    assert.equal(code, 1);
    failing(
      steps,
      'remote platform',
      /linux-mips64 \(uname Linux mips64\): no agent executable .* no usable Node/,
      /install Node >= 18/,
    );
    failing(steps, 'remote node', /no node on the PATH/, /install Node >= 18/);
    failing(steps, 'agent', /no agent can run/, /platform/);
    assert.equal(step(steps, 'transport stdio').status, 'skip');
  });

  test('UDP blocked on the remote: the quic transport fails saying UDP is blocked', async () => {
    const host = await hostWith();
    await host.exec(['nft', 'add', 'table', 'inet', 'pl_doctor']);
    await host.exec(['nft', 'add', 'chain', 'inet', 'pl_doctor', 'in', '{ type filter hook input priority 0; }']);
    await host.exec(['nft', 'add', 'rule', 'inet', 'pl_doctor', 'in', 'udp', 'dport', '1024-65535', 'drop']);
    const { code, steps } = await doctor([host.target, ...host.portLinkerArgs()]);
    assert.equal(code, 1);
    failing(steps, 'transport quic', /asked for quic, landed on tcp: .*no answer in \d+ ms/, /UDP .* is blocked/);
    assert.equal(step(steps, 'transport tcp').status, 'pass');
  });

  test('--port: a loopback service is explained end to end; port 22 is a default exclude bound off loopback', async () => {
    const host = await hostWith();
    const svc = await host.serve('tcp-echo', 0, '127.0.0.1', { name: 'echosvc' });
    const ok = await doctor([host.target, ...host.portLinkerArgs(), '--port', String(svc.port)]);
    const remote = step(ok.steps, `port ${svc.port} remote`);
    assert.equal(remote.status, 'pass');
    assert.match(remote.detail, new RegExp(`tcp 127\\.0\\.0\\.1:${svc.port} \\(echosvc, pid \\d+\\)`));
    assert.equal(step(ok.steps, `port ${svc.port} end to end`).status, 'pass');
    const ssh = await doctor([host.target, ...host.portLinkerArgs(), '--port', '22']);
    failing(ssh.steps, 'port 22 rules', /default exclude/, /--no-default-excludes/);
    failing(ssh.steps, 'port 22 address', /bound only on 10\./, /-L 22:10\./);
    const filtered = await doctor([host.target, ...host.portLinkerArgs(), '--port', String(svc.port), '-p', '1-10']);
    failing(filtered.steps, `port ${svc.port} rules`, /not in -p\/--ports 1-10/, /add \d+ to -p/);
  });

  test('bad input is one line and exit 2', async () => {
    for (const args of [
      ['doctor'],
      ['doctor', 'x', '--port', '0'],
      ['doctor', 'x', '--protocol', 'tpc'],
      ['doctor', 'x', '-p', '3000-1'],
    ]) {
      const r = await runCli(args, { PORT_LINKER_HOME: scratch('pl-doctor-home-') });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
    // a bad ssh option is the ssh config step's failure, with the option named
    const { code, steps } = await doctor(['x', '-o', 'junk']);
    assert.equal(code, 1);
    failing(steps, 'ssh config', /bad -o option "junk"/, /fix the ssh_config line or command-line option/);
    assert.equal(step(steps, 'dns').status, 'skip');
  });
});
