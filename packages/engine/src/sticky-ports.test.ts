import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LoopbackAddresses } from './loopback-addresses.ts';
import { RETRY_MS, StickyPorts } from './sticky-ports.ts';

const withDir = (fn: (dir: string) => void) => {
  const dir = mkdtempSync(join(tmpdir(), 'pl-sticky-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

test('local ports are remembered per host across instances, in a 0600 file', () => {
  withDir((dir) => {
    const a = new StickyPorts(dir);
    a.forHost('dev@a').set('auto/tcp/3000', 3000);
    a.forHost('dev@b').set('auto/tcp/3000', 41234);
    a.flush();
    assert.equal(statSync(join(dir, 'ports.json')).mode & 0o777, 0o600);
    const b = new StickyPorts(dir);
    assert.equal(b.forHost('dev@a').get('auto/tcp/3000'), 3000);
    assert.equal(b.forHost('dev@b').get('auto/tcp/3000'), 41234);
    assert.equal(b.forHost('dev@c').get('auto/tcp/3000'), undefined);
  });
});

test('a corrupt file is reported and ignored; junk values are dropped', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'ports.json'), '{not json');
    const errors: string[] = [];
    const s = new StickyPorts(dir, (m) => errors.push(m));
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? '', /ignoring .*ports\.json/);
    writeFileSync(
      join(dir, 'ports.json'),
      JSON.stringify({ version: 1, ports: { 'h|k': 70000, 'h|j': 'x', 'h|ok': 8080 } }),
    );
    const t = new StickyPorts(dir);
    assert.deepEqual([t.get('h|k'), t.get('h|j'), t.get('h|ok')], [undefined, undefined, 8080]);
    s.flush();
  });
});

test('writes are batched: many sets, one file write after a flush', () => {
  withDir((dir) => {
    const s = new StickyPorts(dir);
    for (let p = 1; p <= 1000; p++) s.set(`h|auto/tcp/${p}`, p);
    s.flush();
    const saved = JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8')) as { ports: Record<string, number> };
    assert.equal(Object.keys(saved.ports).length, 1000);
  });
});

test('loopback addresses: one 127.0.0.N per host from 2 up, the same after a restart', () => {
  withDir((dir) => {
    const a = new LoopbackAddresses(new StickyPorts(dir, undefined, 'addresses.json'));
    assert.equal(a.addressOf('web'), '127.0.0.2');
    assert.equal(a.addressOf('db'), '127.0.0.3');
    assert.equal(a.addressOf('web'), '127.0.0.2');
    a.flush();
    const b = new LoopbackAddresses(new StickyPorts(dir, undefined, 'addresses.json'));
    assert.equal(b.addressOf('db'), '127.0.0.3');
    assert.equal(b.addressOf('cache'), '127.0.0.4');
    assert.equal(LoopbackAddresses.supported('linux'), true);
    assert.equal(LoopbackAddresses.supported('darwin'), false);
  });
});

test('a failed save (a full disk) is said once and tried again until it succeeds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pl-sticky-'));
  try {
    // a directory where the temp file goes makes every write fail, as root too
    const tmp = join(dir, `ports.json.${process.pid}.tmp`);
    mkdirSync(tmp);
    const said: string[] = [];
    const s = new StickyPorts(dir, (m) => said.push(m));
    s.set('h|auto/tcp/3000', 3000);
    s.flush();
    s.flush();
    assert.equal(said.length, 1);
    assert.match(said[0] ?? '', /cannot save local ports .*trying again every 2 s/);
    assert.equal(existsSync(join(dir, 'ports.json')), false);
    rmSync(tmp, { recursive: true });
    const deadline = Date.now() + RETRY_MS * 3;
    while (!existsSync(join(dir, 'ports.json')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const saved = JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8')) as { ports: Record<string, number> };
    assert.equal(saved.ports['h|auto/tcp/3000'], 3000);
    assert.match(said[1] ?? '', /saved local ports .* again/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
