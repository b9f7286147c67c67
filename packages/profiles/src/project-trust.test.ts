import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProfiles } from './parse-profiles.ts';
import { refuseUntrustedCommands } from './project-trust.ts';

const profilesOf = (body: string) =>
  parseProfiles(`version: 1\nprofiles:\n  box:\n    host: dev@box\n${body}`, 'port-linker.yml', { home: '/home/u' })
    .profiles;

test('a found port-linker.yml may not run programs here: ProxyCommand, LocalCommand, its own ssh_config', () => {
  for (const [body, what] of [
    ['    options: { ProxyCommand: "nc %h %p" }\n', /profile box sets ProxyCommand, which runs a program/],
    ['    options: { localcommand: "id" }\n', /sets localcommand/],
    ['    options: { KnownHostsCommand: "/bin/true" }\n', /sets KnownHostsCommand/],
    ['    ssh_config: ./ssh_config\n', /reads its own ssh_config \(\.\/ssh_config\)/],
  ] as const) {
    assert.throws(
      () => refuseUntrustedCommands('/repo/port-linker.yml', profilesOf(body), false),
      (e: Error) => what.test(e.message) && /pass it with -f \/repo\/port-linker\.yml/.test(e.message),
      body,
    );
    // named with -f, or the user's own file: trusted
    refuseUntrustedCommands('/repo/port-linker.yml', profilesOf(body), true);
    refuseUntrustedCommands('/home/u/.config/port-linker/profiles.yml', profilesOf(body), false);
  }
});

test('options that run nothing are fine in a found file', () => {
  const profiles = profilesOf('    jump: bastion\n    options: { ServerAliveInterval: 10, Compression: "yes" }\n');
  refuseUntrustedCommands('/repo/port-linker.yml', profiles, false);
});
