import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ScannerError } from './errors.ts';
import { ProcfsScanner } from './procfs-scanner.ts';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const line = (i: number, hexAddr: string, port: number, state: string, inode: number) =>
  `  ${i}: ${hexAddr}:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 ${state} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 100 0 0 10 0`;

/** A fake /proc: net/{tcp,tcp6,udp,udp6}, and per pid comm, cmdline and fd/ links to `socket:[inode]`. */
class FakeProc {
  readonly root = mkdtempSync(join(tmpdir(), 'scanner-fake-proc-'));
  constructor() {
    mkdirSync(join(this.root, 'net'));
    this.setNet('tcp', []);
    this.setNet('tcp6', []);
    this.setNet('udp', []);
    this.setNet('udp6', []);
  }
  setNet(file: string, lines: string[]): void {
    writeFileSync(join(this.root, 'net', file), `${[HEADER, ...lines].join('\n')}\n`);
  }
  addProcess(pid: number, comm: string, inodes: number[], cmdline = comm): void {
    mkdirSync(join(this.root, String(pid), 'fd'), { recursive: true });
    writeFileSync(join(this.root, String(pid), 'comm'), `${comm}\n`);
    writeFileSync(join(this.root, String(pid), 'cmdline'), `${cmdline}\0--flag\0`);
    symlinkSync('/dev/null', join(this.root, String(pid), 'fd', '0'));
    inodes.forEach((inode, i) => {
      this.addFd(pid, i + 3, inode);
    });
  }
  addFd(pid: number, fd: number, inode: number): void {
    symlinkSync(`socket:[${inode}]`, join(this.root, String(pid), 'fd', String(fd)));
  }
  removeFd(pid: number, fd: number): void {
    unlinkSync(join(this.root, String(pid), 'fd', String(fd)));
  }
  close(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

describe('ProcfsScanner on a fake /proc', () => {
  let proc: FakeProc;
  before(() => {
    proc = new FakeProc();
  });
  after(() => proc.close());

  test('names sockets by inode, walks /proc/<pid>/fd only when an unseen inode appears', async () => {
    proc.addProcess(100, 'sshd', [1001, 1002]);
    proc.addProcess(200, 'node', [2001]);
    proc.addProcess(300, 'a-very-long-pro', [3001], '/opt/bin/a-very-long-process-name');
    proc.setNet('tcp', [
      line(0, '00000000', 22, '0A', 1001),
      line(1, '0100007F', 3000, '0A', 2001),
      line(2, '0100007F', 4000, '0A', 3001),
      line(3, '0100007F', 5000, '0A', 9999), // owned by no visible process
      line(4, '0100007F', 22, '01', 0), // established: ignored
    ]);
    proc.setNet('tcp6', [line(0, '00000000000000000000000000000000', 22, '0A', 1002)]);
    const logs: string[] = [];
    const scanner = new ProcfsScanner({ procRoot: proc.root, log: (_l, m) => logs.push(m) });
    const first = await scanner.scan({ tcp: true, udp: true });
    assert.deepEqual(first, {
      malformed: 0,
      sockets: [
        { protocol: 'tcp', port: 22, address: '0.0.0.0', process: 'sshd' },
        { protocol: 'tcp', port: 22, address: '::', process: 'sshd' },
        { protocol: 'tcp', port: 3000, address: '127.0.0.1', process: 'node' },
        { protocol: 'tcp', port: 4000, address: '127.0.0.1', process: 'a-very-long-process-name' },
        { protocol: 'tcp', port: 5000, address: '127.0.0.1', process: '' },
      ],
    });
    assert.equal(scanner.stats.fdWalks, 1);
    assert.equal(scanner.stats.cachedInodes, 5, 'the unowned inode is cached too');

    const again = await scanner.scan({ tcp: true, udp: true });
    assert.deepEqual(again, first);
    assert.equal(scanner.stats.fdWalks, 1, 'nothing new: no fd walk');

    // An existing process opens a UDP socket: one walk, which starts with the known socket owners.
    proc.addFd(200, 9, 2002);
    proc.setNet('udp', [line(0, '00000000', 5353, '07', 2002)]);
    const visitedBefore = scanner.stats.pidsVisited;
    const withUdp = await scanner.scan({ tcp: true, udp: true });
    assert.equal(scanner.stats.fdWalks, 2);
    assert.ok(scanner.stats.pidsVisited - visitedBefore <= 3, 'found among known owners, walk stopped early');
    assert.deepEqual(withUdp.sockets.at(-1), { protocol: 'udp', port: 5353, address: '0.0.0.0', process: 'node' });

    // Sockets that disappear are evicted from the cache; a TCP-only scan keeps UDP entries.
    proc.setNet('tcp', [line(0, '00000000', 22, '0A', 1001)]);
    await scanner.scan({ tcp: true, udp: false });
    assert.equal(scanner.stats.cachedInodes, 3, 'tcp 1001 and tcp6 1002 stay, udp 2002 stays (not scanned)');
    assert.equal(scanner.stats.fdWalks, 2);

    // The inode number of a gone socket is reused by another process: seen as new, walked, renamed.
    proc.removeFd(200, 3);
    proc.addProcess(400, 'python3', [2001]);
    proc.setNet('tcp', [line(0, '00000000', 22, '0A', 1001), line(1, '0100007F', 3000, '0A', 2001)]);
    const reused = await scanner.scan({ tcp: true, udp: true });
    assert.equal(reused.sockets.find((s) => s.port === 3000)?.process, 'python3');
    assert.equal(scanner.stats.fdWalks, 3);
    assert.deepEqual(logs, []);
  });

  test('malformed lines are counted and logged at debug, never thrown', async () => {
    proc.setNet('udp6', ['   0: nothex:0035 00000000:0000 07', 'garbage']);
    const logs: Array<[string, string]> = [];
    const scanner = new ProcfsScanner({ procRoot: proc.root, log: (l, m) => logs.push([l, m]) });
    const r = await scanner.scan({ tcp: false, udp: true });
    assert.equal(r.malformed, 2);
    assert.equal(logs.length, 2);
    assert.equal(logs[0]?.[0], 'debug');
    assert.match(logs[0]?.[1] ?? '', /udp6/);
    proc.setNet('udp6', []);
  });

  test('missing tcp6/udp6 (IPv6 disabled) is empty; missing tcp is a ScannerError', async () => {
    const bare = new FakeProc();
    try {
      rmSync(join(bare.root, 'net', 'tcp6'));
      const scanner = new ProcfsScanner({ procRoot: bare.root });
      assert.deepEqual(await scanner.scan({ tcp: true, udp: false }), { sockets: [], malformed: 0 });
      rmSync(join(bare.root, 'net', 'tcp'));
      await assert.rejects(scanner.scan({ tcp: true, udp: false }), (err: unknown) => {
        assert.ok(err instanceof ScannerError);
        assert.equal(err.code, 'SCANNER');
        assert.equal(err.backend, 'procfs');
        assert.match(err.message, /net\/tcp/);
        return true;
      });
    } finally {
      bare.close();
    }
  });
});
