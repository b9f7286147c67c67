import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  appendKnownHost,
  checkHostKey,
  entryMatchesHost,
  fingerprint,
  knownHostName,
  knownKeyTypes,
  parseKnownHosts,
} from './known-hosts.ts';

const ED = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const KEY = Buffer.from(ED, 'base64');
const OTHER = Buffer.from(KEY);
OTHER[OTHER.length - 1] = (OTHER[OTHER.length - 1] ?? 0) ^ 1;
// Made by `ssh-keygen -H` from "10.1.2.3 ..." and "[example.com]:2222 ...".
const HASHED_IP = '|1|rE8l08beGcLu9ewV6G05dqT6778=|D96rU9udvkKyvHbQn/+gcZy/49k=';
const HASHED_PORT = '|1|1UrcyKm4FR4yiusvjmzSmDkfos0=|lMDEMuhb16LqOMiBfI2B9vQgbM4=';

describe('known_hosts', () => {
  test('fingerprint matches ssh-keygen -l', () => {
    assert.equal(fingerprint(KEY), 'SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU');
  });

  test('lookup names: plain on port 22, [host]:port otherwise, lowercased', () => {
    assert.equal(knownHostName('Example.COM', 22), 'example.com');
    assert.equal(knownHostName('example.com', 2222), '[example.com]:2222');
  });

  test('hashed entries made by ssh-keygen -H match their host and nothing else', () => {
    assert.ok(entryMatchesHost(HASHED_IP, '10.1.2.3'));
    assert.ok(!entryMatchesHost(HASHED_IP, '10.1.2.4'));
    assert.ok(entryMatchesHost(HASHED_PORT, '[example.com]:2222'));
    assert.ok(!entryMatchesHost(HASHED_PORT, 'example.com'));
  });

  test('plain patterns: lists, wildcards, negation, case-insensitive', () => {
    assert.ok(entryMatchesHost('a.example.com,b.example.com', 'b.example.com'));
    assert.ok(entryMatchesHost('*.EXAMPLE.com', 'x.example.com'));
    assert.ok(!entryMatchesHost('*.example.com,!bad.example.com', 'bad.example.com'));
    assert.ok(entryMatchesHost('10.0.0.?', '10.0.0.7'));
    assert.ok(!entryMatchesHost('10.0.0.?', '10.0.0.17'));
  });

  test('parse skips comments, junk and mismatched key types; keeps markers and line numbers', () => {
    const entries = parseKnownHosts(
      [
        '# comment',
        '',
        `host1 ssh-ed25519 ${ED} comment here`,
        `host2 ssh-rsa ${ED}`,
        'garbage',
        `@revoked * ssh-ed25519 ${ED}`,
        `@cert-authority *.example.com ssh-ed25519 ${ED}`,
        `@bogus x ssh-ed25519 ${ED}`,
      ].join('\n'),
      'f',
    );
    assert.deepEqual(
      entries.map((e) => [e.marker, e.hosts, e.line]),
      [
        ['', 'host1', 3],
        ['@revoked', '*', 6],
        ['@cert-authority', '*.example.com', 7],
      ],
    );
  });

  test('check: known, changed (same type, other key), unknown with other types, revoked', () => {
    const entries = parseKnownHosts(
      [
        `${HASHED_IP} ssh-ed25519 ${ED}`,
        `h2 ssh-ed25519 ${OTHER.toString('base64')}`,
        `h3 ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAAQC7`,
      ].join('\n'),
      'f',
    );
    assert.equal(checkHostKey(entries, '10.1.2.3', KEY).status, 'known');
    assert.equal(checkHostKey(entries, 'h2', KEY).status, 'changed');
    assert.deepEqual(checkHostKey(entries, 'h3', KEY), { status: 'unknown', otherTypes: ['ssh-rsa'] });
    assert.deepEqual(checkHostKey(entries, 'nobody', KEY), { status: 'unknown', otherTypes: [] });
    const revoked = parseKnownHosts(`@revoked * ssh-ed25519 ${ED}\n10.1.2.3 ssh-ed25519 ${ED}`, 'f');
    assert.equal(checkHostKey(revoked, '10.1.2.3', KEY).status, 'revoked');
    assert.deepEqual([...knownKeyTypes(entries, 'h3')], ['ssh-rsa']);
  });

  test('append writes OpenSSH lines, creates 0600/0700, and fixes a missing final newline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-kh-'));
    try {
      const file = join(dir, 'sub', 'known_hosts');
      appendKnownHost(file, '[h]:2222', KEY, false);
      assert.equal(readFileSync(file, 'utf8'), `[h]:2222 ssh-ed25519 ${ED}\n`);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o700);
      const f2 = join(dir, 'no_newline');
      writeFileSync(f2, `x ssh-ed25519 ${ED}`);
      const line = appendKnownHost(f2, 'y', KEY, true);
      const text = readFileSync(f2, 'utf8');
      assert.equal(text, `x ssh-ed25519 ${ED}\n${line}\n`);
      const hashed = parseKnownHosts(text, f2)[1];
      assert.ok(hashed?.hosts.startsWith('|1|'));
      assert.ok(entryMatchesHost(hashed?.hosts ?? '', 'y'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
