import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PortAttributes } from '@port-linker/forward';
import { explainPort, type PortEvidence } from './port-explain.ts';

const base = (over: Partial<PortEvidence> = {}): PortEvidence => ({
  port: 3000,
  target: 'dev',
  sockets: [{ protocol: 'tcp', port: 3000, address: '0.0.0.0', process: 'node' }],
  pids: new Map([['tcp/0.0.0.0', 42]]),
  interfaces: new Map(),
  filter: { defaultExcludes: true },
  agentPorts: [],
  localOwners: [],
  daemon: { running: false },
  ...over,
});
const step = (e: PortEvidence, name: string) => {
  const s = explainPort(e).find((x) => x.name === `port ${e.port} ${name}`);
  assert.ok(s, name);
  return s.outcome;
};

test('a plain listener: seen with process and pid, no rule, dialable, local free, no daemon', () => {
  const e = base();
  assert.match(step(e, 'remote').detail, /tcp 0\.0\.0\.0:3000 \(node, pid 42\)/);
  assert.equal(step(e, 'rules').status, 'pass');
  assert.equal(step(e, 'address').status, 'pass');
  assert.equal(step(e, 'local').status, 'pass');
  assert.equal(step(e, 'forward').status, 'skip');
});

test('nothing listens: remote fails with a fix, address skips', () => {
  const e = base({ sockets: [] });
  assert.equal(step(e, 'remote').status, 'fail');
  assert.equal(step(e, 'address').status, 'skip');
});

test('each excluding rule is named: -p, -x, default exclude, attribute ignore, protocol', () => {
  assert.match(step(base({ filter: { ports: '8000-8999', defaultExcludes: true } }), 'rules').detail, /not in -p/);
  assert.match(step(base({ filter: { exclude: '2000-4000', defaultExcludes: true } }), 'rules').detail, /-x/);
  const ssh = base({ port: 22, sockets: [{ protocol: 'tcp', port: 22, address: '0.0.0.0', process: 'sshd' }] });
  const r = step(ssh, 'rules');
  assert.match(r.detail, /default exclude/);
  assert.match(r.fix ?? '', /--no-default-excludes/);
  assert.equal(step({ ...ssh, filter: { defaultExcludes: false } }, 'rules').status, 'pass');
  const ignore = new PortAttributes([{ low: 3000, high: 3000, onForward: 'ignore' }]);
  assert.match(step(base({ attributes: ignore }), 'rules').detail, /on_forward: ignore/);
  assert.match(step(base({ filter: { defaultExcludes: true, protocol: 'udp' } }), 'rules').detail, /--protocol is udp/);
});

test('an address on a container bridge only is named as such, with an explicit -L as the fix', () => {
  const e = base({
    sockets: [{ protocol: 'tcp', port: 3000, address: '172.17.0.1', process: 'docker-proxy' }],
    interfaces: new Map([['172.17.0.1', 'docker0']]),
  });
  const a = step(e, 'address');
  assert.equal(a.status, 'fail');
  assert.match(a.detail, /172\.17\.0\.1 \(docker0, a container bridge\)/);
  assert.match(a.fix ?? '', /-L 3000:172\.17\.0\.1:3000/);
});

test('the local port: taken by another process fails, held by the daemon passes', () => {
  assert.match(step(base({ localOwners: [{ pid: 7, name: 'python3' }] }), 'local').detail, /python3 \(pid 7\)/);
  const daemon = {
    running: true as const,
    pid: 9,
    forwards: [{ host: 'dev', protocol: 'tcp', remotePort: 3000, localPort: 3000 }],
  };
  const e = base({ localOwners: [{ pid: 9, name: 'node' }], daemon });
  assert.equal(step(e, 'local').status, 'pass');
  assert.match(step(e, 'forward').detail, /to 127\.0\.0\.1:3000/);
  assert.equal(step(base({ daemon: { running: true, pid: 9, forwards: [] } }), 'forward').status, 'fail');
});

test('end to end: reported as given', () => {
  assert.equal(step(base({ endToEnd: { ok: false, detail: 'closed' } }), 'end to end').status, 'fail');
  assert.equal(step(base({ endToEnd: { ok: true, detail: 'answered' } }), 'end to end').status, 'pass');
});
