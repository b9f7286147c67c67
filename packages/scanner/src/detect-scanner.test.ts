import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CommandScanner } from './command-scanner.ts';
import { backendOrder, createScanner } from './detect-scanner.ts';
import { ScannerError } from './errors.ts';
import { ProcfsScanner } from './procfs-scanner.ts';

test('backendOrder: procfs only on Linux; sockstat before netstat on FreeBSD', () => {
  assert.deepEqual(backendOrder('linux'), ['procfs', 'ss', 'netstat', 'sockstat']);
  assert.deepEqual(backendOrder('darwin'), ['ss', 'netstat', 'sockstat']);
  assert.deepEqual(backendOrder('freebsd'), ['ss', 'sockstat', 'netstat']);
});

test('createScanner: one class per kind, backend named', () => {
  assert.ok(createScanner('procfs') instanceof ProcfsScanner);
  for (const b of ['ss', 'netstat', 'sockstat'] as const) {
    const s = createScanner(b);
    assert.ok(s instanceof CommandScanner);
    assert.equal(s.backend, b);
  }
});

describe('CommandScanner with stand-in tools on PATH', () => {
  let dir: string;
  let savedPath: string | undefined;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'scanner-tools-'));
    savedPath = process.env.PATH;
    process.env.PATH = `${dir}:${savedPath ?? ''}`;
    // An old ss without -H: rejects it, prints a header otherwise; logs each call so the test sees the retries.
    writeFileSync(
      join(dir, 'ss'),
      `#!/bin/sh
echo "$*" >> "${dir}/calls"
case "$1" in -H*) echo "ss: invalid option -- 'H'" >&2; exit 255 ;; esac
echo 'Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process'
echo 'tcp   LISTEN 0      128    0.0.0.0:2222      0.0.0.0:*'
echo 'udp   UNCONN 0      0      127.0.0.1:5353    0.0.0.0:*'
echo 'garbage'
`,
    );
    writeFileSync(join(dir, 'netstat'), '#!/bin/sh\necho "netstat: broken" >&2\nexit 3\n');
    chmodSync(join(dir, 'ss'), 0o755);
    chmodSync(join(dir, 'netstat'), 0o755);
  });
  after(() => {
    process.env.PATH = savedPath;
    rmSync(dir, { recursive: true, force: true });
  });

  test('falls back to the flags the tool accepts, remembers them, filters protocols, logs malformed at debug', async () => {
    const logs: string[] = [];
    const scanner = new CommandScanner('ss', { platform: 'linux', log: (level, m) => logs.push(`${level} ${m}`) });
    assert.deepEqual(await scanner.scan({ tcp: true, udp: true }), {
      malformed: 1,
      sockets: [
        { protocol: 'tcp', port: 2222, address: '0.0.0.0', process: '' },
        { protocol: 'udp', port: 5353, address: '127.0.0.1', process: '' },
      ],
    });
    await scanner.scan({ tcp: true, udp: true });
    const { readFileSync } = await import('node:fs');
    assert.deepEqual(readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n'), ['-Htulnp', '-tulnp', '-tulnp']);
    assert.deepEqual(logs, [
      'debug scanner: ss: no state column: "garbage"',
      'debug scanner: ss: no state column: "garbage"',
    ]);
  });

  test('a failing or missing tool is a ScannerError naming the command', async () => {
    await assert.rejects(
      new CommandScanner('netstat', { platform: 'linux' }).scan({ tcp: true, udp: false }),
      (err) => {
        assert.ok(err instanceof ScannerError);
        assert.equal(err.backend, 'netstat');
        assert.match(err.message, /`netstat -tlnpW` exited 3: netstat: broken; `netstat -tlnp` exited 3/);
        return true;
      },
    );
    await assert.rejects(
      new CommandScanner('sockstat', { platform: 'freebsd' }).scan({ tcp: true, udp: true }),
      (err) => {
        assert.ok(err instanceof ScannerError);
        assert.match(err.message, /sockstat is not installed/);
        return true;
      },
    );
  });
});
