import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { RemoteHost, run, waitFor } from './harness/index.ts';
import { type CliEvent, CliProcess } from './support/cli-process.ts';
import { runCli } from './support/cli-run.ts';
import { httpGet } from './support/tcp-client.ts';

/** An HTTP server on this machine (the "service on the host" that -R forwards reach). */
async function localHttp(tag: string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => res.end(`${tag} ${req.url}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  return { server, port: typeof a === 'object' && a ? a.port : 0 };
}

/** curl on this machine; the body, or throws with curl's stderr. */
async function curl(args: string[]): Promise<string> {
  return (await run(['curl', '-sS', '--max-time', '10', ...args])).stdout;
}

/** An HTTP server on a Unix socket inside the namespace (a docker.sock stand-in); resolves once it listens. */
async function remoteUnixHttp(host: RemoteHost, path: string): Promise<void> {
  const script = "const p=process.argv.at(-1);require('http').createServer((q,s)=>s.end('unix '+q.url)).listen(p)";
  host.spawn([process.execPath, '-e', script, path], 'ignore');
  await waitFor(() => existsSync(path), `a socket at ${path}`, 10_000);
}

/** `ss -Hltn` output whose local address column is the wildcard (the peer column is always `0.0.0.0:*`). */
const LISTENS_ON_ANY = /^\S+\s+\d+\s+\d+\s+(0\.0\.0\.0|\*|\[::\]):\d/m;

const added = (cli: CliProcess, pred: (e: CliEvent) => boolean, what: string) =>
  cli.waitEvent((e) => e.event === 'forward_added' && pred(e), what);

describe('every forward type of OpenSSH: -R, -D, Unix sockets (real sshd)', () => {
  let host: RemoteHost;
  let dir: string;
  before(async () => {
    // sshd leaves a -R socket file behind when the connection drops: without StreamLocalBindUnlink (its side)
    // the reconnected session could not listen there again, with OpenSSH's client as with ours
    host = await RemoteHost.start({ sshdConfig: ['StreamLocalBindUnlink yes'] });
    dir = mkdtempSync(join(tmpdir(), 'pl-fwd-types-'));
  });
  after(async () => {
    await host?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('-R (fixed, port 0, dynamic reverse), -D (SOCKS5/4a/4), -L Unix sockets; all heal after an sshd restart', async () => {
    const here = await localHttp('here');
    const inside = await host.serve('http', 0, '127.0.0.1');
    const remoteSock = join(dir, 'remote-app.sock');
    const localSock = join(dir, 'local-app.sock');
    const reverseSock = join(dir, 'reverse.sock');
    await remoteUnixHttp(host, remoteSock);
    const cli = CliProcess.against(host, [
      '--no-auto',
      ...['-R', `0:localhost:${here.port}`],
      ...['-R', '0'],
      ...['-D', '0'],
      ...['-L', `${localSock}:${remoteSock}`],
      ...['-L', `0:${remoteSock}`],
      ...['-R', `${reverseSock}:localhost:${here.port}`],
    ]);
    try {
      const remoteEvents = async (after = 0) => {
        const mine = () => cli.events.slice(after).filter((e) => e.event === 'remote_forward_added');
        await waitFor(() => mine().length >= 3, 'three remote_forward_added events', 15_000);
        const tcp = mine().find((e) => e.target === `localhost:${here.port}` && e.remote_path === undefined);
        const socks = mine().find((e) => e.target === 'socks');
        const unix = mine().find((e) => e.remote_path === reverseSock);
        assert.ok(tcp && socks && unix, JSON.stringify(mine()));
        assert.equal(unix.target, `localhost:${here.port}`);
        assert.equal(tcp.requested_port, 0);
        assert.equal(tcp.bind_addr, 'localhost');
        return { rport: tcp.remote_port as number, rsocks: socks.remote_port as number };
      };
      let { rport, rsocks } = await remoteEvents();
      assert.ok(rport > 0 && rsocks > 0, 'the server picked ports for -R 0');
      const socksEvent = await added(cli, (e) => e.type === 'dynamic', '-D forward_added');
      const dport = socksEvent.local_port as number;
      const unixEvent = await added(cli, (e) => e.local_path === localSock, '-L socket forward_added');
      assert.equal(unixEvent.remote_path, remoteSock);
      const tcpToUnix = await added(cli, (e) => e.remote_path === remoteSock && e.local_port !== 0, '-L port:socket');
      const lport = tcpToUnix.local_port as number;

      const checkAll = async (when: string) => {
        // -R: a client on the remote reaches the service on this machine
        const viaR = await host.exec(['curl', '-sS', '--max-time', '10', `http://127.0.0.1:${rport}/r`]);
        assert.equal(viaR.stdout, 'here /r', `${when}: -R`);
        // -R /remote.sock:host:port: a socket file on the remote
        const viaRu = await host.exec(['curl', '-sS', '--max-time', '10', '--unix-socket', reverseSock, 'http://x/ru']);
        assert.equal(viaRu.stdout, 'here /ru', `${when}: -R from a socket`);
        // dynamic -R: a SOCKS proxy on the remote whose names resolve here
        const viaRs = await host.exec([
          'curl',
          '-sS',
          '--max-time',
          '10',
          '--socks5-hostname',
          `127.0.0.1:${rsocks}`,
          `http://localhost:${here.port}/rs`,
        ]);
        assert.equal(viaRs.stdout, 'here /rs', `${when}: dynamic -R`);
        // -D: names resolve on the remote (its localhost is the namespace's, where nothing of ours listens)
        const url = `http://localhost:${inside.port}/d`;
        assert.match(await curl(['--socks5-hostname', `127.0.0.1:${dport}`, url]), /^hello from /, `${when}: socks5h`);
        assert.match(await curl(['--socks4a', `127.0.0.1:${dport}`, url]), /^hello from /, `${when}: socks4a`);
        const ip = `http://127.0.0.1:${inside.port}/d4`;
        assert.match(await curl(['--socks4', `127.0.0.1:${dport}`, ip]), /^hello from /, `${when}: socks4`);
        assert.match(await curl(['--socks5', `[::1]:${dport}`, ip]), /^hello from /, `${when}: socks5 on ::1`);
        // -L /local.sock:/remote.sock and -L port:/remote.sock
        assert.equal(await curl(['--unix-socket', localSock, 'http://docker/v1/info']), 'unix /v1/info', when);
        assert.equal(await httpGet(lport, '/tcp'), 'unix /tcp', `${when}: port -> remote socket`);
      };
      await checkAll('first connection');
      assert.equal(statSync(localSock).mode & 0o777, 0o600, 'the local socket file is 0600 (StreamLocalBindMask)');
      const listeners = await host.exec(['ss', '-Hltn', `sport = :${rport}`]);
      assert.match(listeners.stdout, /127\.0\.0\.1:/, '-R without a bind address listens on loopback on the remote');
      assert.doesNotMatch(listeners.stdout, LISTENS_ON_ANY, 'and not on every address');

      const before = cli.events.length;
      await host.stopSshd();
      await cli.waitEvent((e) => e.event === 'disconnected', 'disconnected', 30_000);
      await host.startSshd();
      await cli.waitEvent((e) => e.event === 'reconnected', 'reconnected', 30_000);
      ({ rport, rsocks } = await remoteEvents(before));
      await checkAll('after an sshd restart');

      assert.equal(await cli.stop('SIGINT'), 0);
      assert.equal(existsSync(localSock), false, 'the local socket file is removed on exit');
    } finally {
      await cli.stop('SIGKILL');
      here.server.close();
      await inside.stop();
    }
  });

  test('ssh_config LocalForward, RemoteForward and DynamicForward are set up; ClearAllForwardings drops them', async () => {
    const here = await localHttp('cfg');
    const inside = await host.serve('http', 0, '127.0.0.1');
    const config = join(dir, 'ssh_config');
    const lines = (extra: string) =>
      writeFileSync(
        config,
        [
          `Host ${host.address}`,
          `  IdentityFile ${host.clientKeyPath}`,
          `  UserKnownHostsFile ${host.knownHostsPath}`,
          '  StrictHostKeyChecking yes',
          `  LocalForward 0 127.0.0.1:${inside.port}`,
          `  RemoteForward 0 localhost:${here.port}`,
          '  DynamicForward 0',
          extra,
          '',
        ].join('\n'),
      );
    lines('');
    const cli = new CliProcess(['--json', '--no-notify', '--no-auto', '-F', config, host.target]);
    try {
      const local = await added(cli, (e) => e.remote_port === inside.port, 'LocalForward');
      assert.match(await httpGet(local.local_port as number, '/lf'), /^hello from /);
      const remote = await cli.waitEvent((e) => e.event === 'remote_forward_added', 'RemoteForward');
      const viaR = await host.exec(['curl', '-sS', '--max-time', '10', `http://127.0.0.1:${remote.remote_port}/rf`]);
      assert.equal(viaR.stdout, 'cfg /rf');
      const socks = await added(cli, (e) => e.type === 'dynamic', 'DynamicForward');
      const viaD = await curl([
        '--socks5-hostname',
        `127.0.0.1:${socks.local_port}`,
        `http://localhost:${inside.port}/`,
      ]);
      assert.match(viaD, /^hello from /);
    } finally {
      await cli.stop();
    }

    lines('  ClearAllForwardings yes');
    const cleared = new CliProcess([
      '--json',
      '--no-notify',
      '-F',
      config,
      '-L',
      `0:localhost:${inside.port}`,
      host.target,
    ]);
    try {
      await cleared.waitEvent((e) => e.event === 'agent', 'agent');
      assert.deepEqual(
        cleared.events.filter((e) => e.event === 'forward_added' && e.origin === 'explicit'),
        [],
        'no explicit forward: ClearAllForwardings drops the config lines and -L too, as OpenSSH does',
      );
      assert.equal(
        cleared.events.some((e) => e.event === 'remote_forward_added'),
        false,
      );
    } finally {
      await cleared.stop();
      here.server.close();
      await inside.stop();
    }
  });

  test('ExitOnForwardFailure: a -R port the remote already uses, or a busy -L port, ends the command (exit 1)', async () => {
    // '::' is dual-stack: the port is taken on 127.0.0.1 and ::1 (sshd's "localhost" forward succeeds if either binds)
    const taken = await host.serve('tcp-listen', 0, '::');
    const remoteBusy = CliProcess.against(host, [
      '--no-auto',
      ...['-o', 'ExitOnForwardFailure=yes'],
      ...['-R', `${taken.port}:localhost:9`],
    ]);
    const busy = await localHttp('busy');
    try {
      assert.equal(await remoteBusy.exited, 1, remoteBusy.stderr);
      assert.match(
        remoteBusy.stderr,
        new RegExp(`-R ${taken.port}:localhost:9: .*cannot listen on localhost:${taken.port}`),
      );
      assert.match(remoteBusy.stderr, /ExitOnForwardFailure/);

      const localBusy = CliProcess.against(host, [
        '--no-auto',
        ...['-o', 'ExitOnForwardFailure=yes'],
        ...['-L', `${busy.port}:localhost:22`],
      ]);
      assert.equal(await localBusy.exited, 1);
      assert.match(localBusy.stderr, new RegExp(`-L 127\\.0\\.0\\.1:${busy.port}: the local side cannot listen`));

      // without it: a warning, a conflict event, and the command keeps running
      const tolerant = CliProcess.against(host, ['--no-auto', ...['-R', `${taken.port}:localhost:9`]]);
      try {
        const failed = await tolerant.waitEvent((e) => e.event === 'remote_forward_failed', 'remote_forward_failed');
        assert.equal(failed.remote_port, taken.port);
        assert.equal(tolerant.child.exitCode, null);
      } finally {
        assert.equal(await tolerant.stop(), 0);
      }
    } finally {
      await remoteBusy.stop('SIGKILL');
      busy.server.close();
      await taken.stop();
    }
  });

  test('the daemon brings up -R and -D from a profile; ls shows where the -R listens', async () => {
    const here = await localHttp('daemon');
    const inside = await host.serve('http', 0, '127.0.0.1');
    const env = { PORT_LINKER_HOME: join(dir, 'daemon-state'), PORT_LINKER_LOG: undefined, XDG_RUNTIME_DIR: undefined };
    const file = join(dir, 'port-linker.yml');
    host.writeProfile(file, [
      '    auto: false',
      '    forwards:',
      `      - { type: remote, remote: 0, local_port: ${here.port} }`,
      '      - { type: dynamic, local: 0 }',
    ]);
    type Remote = { spec: string; remotePort?: number; target: string; state: string };
    type Host = { forwards: Array<{ localPort: number; spec: { dynamic?: boolean } }>; remoteForwards: Remote[] };
    try {
      const up = await runCli(['up', '-f', file], env);
      assert.equal(up.code, 0, up.stderr);
      let box: Host | undefined;
      for (const deadline = Date.now() + 15_000; Date.now() < deadline; await delay(50)) {
        const ls = await runCli(['ls', '--json'], env);
        box = (JSON.parse(ls.stdout) as { hosts: Host[] }).hosts[0];
        if (box?.remoteForwards[0]?.state === 'listening' && box.forwards.some((f) => f.spec.dynamic)) break;
      }
      const remote = box?.remoteForwards[0];
      assert.equal(remote?.state, 'listening', JSON.stringify(box));
      assert.equal(remote.target, `localhost:${here.port}`);
      const viaR = await host.exec(['curl', '-sS', '--max-time', '10', `http://127.0.0.1:${remote.remotePort}/d`]);
      assert.equal(viaR.stdout, 'daemon /d', '-R from the daemon');
      const socks = box?.forwards.find((f) => f.spec.dynamic)?.localPort;
      const url = `http://localhost:${inside.port}/`;
      assert.match(await curl(['--socks5-hostname', `127.0.0.1:${socks}`, url]), /^hello from /, '-D from the daemon');
      const text = await runCli(['ls'], env);
      assert.match(
        text.stdout,
        new RegExp(
          `^box\\s+-R 0:localhost:${here.port}\\s+localhost:${remote.remotePort}\\s+localhost:${here.port}\\s+listening$`,
          'm',
        ),
        text.stdout,
      );
    } finally {
      await runCli(['daemon', 'stop'], env).catch(() => {});
      here.server.close();
      await inside.stop();
    }
  });

  test('bad forward specs are one-line usage errors (exit 2)', async () => {
    for (const [flag, value, text] of [
      ['-R', 'x:1', /-R x:1: .*expected \[bind:\]port:host:hostport/],
      ['-D', 'host.example:1080', /-D host\.example:1080: .*expected \[bind:\]port/],
      ['-L', 'rel.sock/x:/r.sock', /must be an absolute path/],
    ] as const) {
      const cli = CliProcess.against(host, ['--no-auto', flag, value]);
      assert.equal(await cli.exited, 2, `${flag} ${value}`);
      assert.match(cli.stderr, text);
      assert.doesNotMatch(cli.stderr, /\n\s+at /, 'no stack trace');
    }
    // nothing to forward: neither a flag nor a LocalForward/RemoteForward/DynamicForward line in ssh_config
    const idle = CliProcess.against(host, ['--no-auto']);
    assert.equal(await idle.exited, 2);
    assert.match(idle.stderr, /--no-auto needs at least one -L, -R or -D forward/);
  });
});

describe('-R with the server’s GatewayPorts clientspecified (real sshd)', () => {
  let host: RemoteHost;
  before(async () => {
    host = await RemoteHost.start({ sshdConfig: ['GatewayPorts clientspecified'] });
  });
  after(async () => {
    await host?.close();
  });

  test('-R *:0 listens on every address of the remote; -R 0 stays on loopback', async () => {
    const here = await localHttp('gw');
    const cli = CliProcess.against(host, [
      '--no-auto',
      ...['-R', `*:0:localhost:${here.port}`],
      ...['-R', `0:localhost:${here.port}`],
    ]);
    try {
      await waitFor(
        () => cli.events.filter((e) => e.event === 'remote_forward_added').length >= 2,
        'two remote forwards',
        15_000,
      );
      const [wild, loop] = ['', 'localhost'].map(
        (bind) => cli.events.find((e) => e.event === 'remote_forward_added' && e.bind_addr === bind)?.remote_port,
      );
      const ss = async (port: unknown) => (await host.exec(['ss', '-Hltn', `sport = :${port}`])).stdout;
      assert.match(await ss(wild), LISTENS_ON_ANY, 'every address');
      assert.doesNotMatch(await ss(loop), LISTENS_ON_ANY);
      const viaGw = await host.exec(['curl', '-sS', '--max-time', '10', `http://${host.address}:${wild}/gw`]);
      assert.equal(viaGw.stdout, 'gw /gw', 'reachable on the remote’s own address');
    } finally {
      await cli.stop();
      here.server.close();
    }
  });
});
