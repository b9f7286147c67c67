import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchdPlist, serviceFilePath, systemdUnit } from './service-unit.ts';

const cmd = { node: '/opt/node 24/bin/node', args: ['/usr/lib/port-linker/bin/port-linker.js', 'daemon', 'run'] };

test('the systemd unit runs `daemon run` with quoted paths, restarts on failure, starts at login', () => {
  const unit = systemdUnit({ ...cmd, stateHome: '/home/me/pl 100%' });
  const lines = unit.split('\n');
  assert.ok(
    lines.includes('ExecStart="/opt/node 24/bin/node" /usr/lib/port-linker/bin/port-linker.js daemon run'),
    unit,
  );
  assert.ok(lines.includes('Environment="PORT_LINKER_HOME=/home/me/pl 100%%"'), unit);
  assert.ok(lines.includes('Restart=on-failure'));
  assert.ok(lines.includes('Type=simple'));
  assert.ok(lines.includes('WantedBy=default.target'));
  assert.deepEqual(
    lines.filter((l) => l.startsWith('[')),
    ['[Unit]', '[Service]', '[Install]'],
  );
  assert.ok(!systemdUnit(cmd).includes('Environment='), 'no state dir line unless PORT_LINKER_HOME is set');
});

test('the launchd agent lists every argument, escaped, and keeps the daemon alive unless it exits cleanly', () => {
  const plist = launchdPlist({ ...cmd, args: [...cmd.args, 'a&b'] }, '/Users/me/out.log');
  assert.match(
    plist,
    /<string>\/opt\/node 24\/bin\/node<\/string>\n {4}<string>\/usr\/lib\/port-linker\/bin\/port-linker.js<\/string>/,
  );
  assert.match(plist, /<string>a&amp;b<\/string>/);
  assert.match(plist, /<key>KeepAlive<\/key>\n {2}<dict>\n {4}<key>SuccessfulExit<\/key>\n {4}<false\/>/);
  assert.match(plist, /<key>RunAtLoad<\/key>\n {2}<true\/>/);
});

test('unit file locations follow XDG_CONFIG_HOME and macOS conventions', () => {
  assert.equal(serviceFilePath('linux', { HOME: '/home/me' }), '/home/me/.config/systemd/user/port-linker.service');
  assert.equal(serviceFilePath('linux', { HOME: '/h', XDG_CONFIG_HOME: '/c' }), '/c/systemd/user/port-linker.service');
  assert.equal(
    serviceFilePath('darwin', { HOME: '/Users/me' }),
    '/Users/me/Library/LaunchAgents/dev.port-linker.daemon.plist',
  );
});
