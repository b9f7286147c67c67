import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliUsageError, parseCli } from './cli-options.ts';

const io = () => {
  const out: string[] = [];
  return { out, write: { out: (s: string) => void out.push(s), err: (s: string) => void out.push(s) } };
};
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseCli(argv, env, '9.9.9', io().write);

test('defaults follow docs/PRODUCT.md section 2', () => {
  const r = parse(['dev@box']);
  assert.ok(r.kind === 'run');
  assert.deepEqual(
    {
      t: r.config.targets,
      p: r.config.protocol,
      tr: r.config.transport,
      c: r.config.conflict,
      a: r.config.agent,
      auto: r.config.auto,
      de: r.config.defaultExcludes,
      lvl: r.config.logLevel,
      n: r.config.notify,
      j: r.config.json,
    },
    {
      t: ['dev@box'],
      p: 'both',
      tr: 'auto',
      c: 'remap',
      a: 'auto',
      auto: true,
      de: true,
      lvl: 'info',
      n: true,
      j: false,
    },
  );
});

test('repeatable options collect, negations work', () => {
  const r = parse([
    'box',
    '-L',
    '8080:localhost:80',
    '-L',
    '9000:db:5432',
    '-i',
    'k1',
    '-i',
    'k2',
    '-o',
    'Port=2222',
    '--no-auto',
    '--no-default-excludes',
    '--no-notify',
    '--json',
  ]);
  assert.ok(r.kind === 'run');
  assert.deepEqual(r.config.localForwards, ['8080:localhost:80', '9000:db:5432']);
  assert.deepEqual(r.config.identities, ['k1', 'k2']);
  assert.deepEqual(r.config.sshOptions, ['Port=2222']);
  assert.equal(r.config.auto, false);
  assert.equal(r.config.defaultExcludes, false);
  assert.equal(r.config.notify, false);
  assert.equal(r.config.json, true);
});

test('PORT_LINKER_LOG overrides --log-level', () => {
  const r = parse(['box', '--log-level', 'warn'], { PORT_LINKER_LOG: 'debug' });
  assert.ok(r.kind === 'run' && r.config.logLevel === 'debug');
});

test('usage errors are one line and typed', () => {
  for (const argv of [[], ['box', '--protocol', 'sctp'], ['box', '--bogus'], ['box', '-o', 'novalue'], ['a', 'a']]) {
    assert.throws(
      () => parse(argv),
      (e: unknown) => e instanceof CliUsageError && !e.message.includes('\n'),
      argv.join(' '),
    );
  }
  assert.throws(() => parse(['box'], { PORT_LINKER_LOG: 'loud' }), /PORT_LINKER_LOG=loud/);
});

test('--help and --version print and ask for exit 0', () => {
  const h = io();
  assert.deepEqual(parseCli(['--help'], {}, '9.9.9', h.write), { kind: 'exit', code: 0 });
  assert.match(h.out.join(''), /Examples:/);
  const v = io();
  assert.deepEqual(parseCli(['-V'], {}, '9.9.9', v.write), { kind: 'exit', code: 0 });
  assert.equal(v.out.join('').trim(), '9.9.9');
});

test('several targets are all kept, in order; a target named twice is a usage error', () => {
  const r = parse(['a', 'dev@b:2222', 'c']);
  assert.ok(r.kind === 'run');
  assert.deepEqual(r.config.targets, ['a', 'dev@b:2222', 'c']);
  assert.throws(() => parse(['a', 'b', 'a']), /host a is named twice/);
});

test('--bind-address takes a loopback address or auto, and refuses anything that is not loopback', () => {
  const r = parse(['a', '--bind-address', 'auto']);
  assert.ok(r.kind === 'run' && r.config.bindAddress === 'auto');
  const s = parse(['a', '--bind-address', '127.0.0.9']);
  assert.ok(s.kind === 'run' && s.config.bindAddress === '127.0.0.9');
  assert.throws(() => parse(['a', '--bind-address', '0.0.0.0']), /listens on loopback only/);
  assert.throws(() => parse(['a', '--bind-address', 'localhostx']), /listens on loopback only/);
});
