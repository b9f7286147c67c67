import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { matchPatternList } from './host-pattern.ts';

/** One key line of a known_hosts file. */
export interface KnownHostEntry {
  marker: '' | '@cert-authority' | '@revoked';
  /** The host field as written: patterns, or a hashed `|1|salt|hash`. */
  hosts: string;
  keyType: string;
  key: Buffer;
  file: string;
  line: number;
}

/** What known_hosts says about a server key. */
export type KnownHostStatus =
  | { status: 'known'; entry: KnownHostEntry }
  | { status: 'changed'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  | { status: 'unknown'; otherTypes: string[] };

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise (host lowercased). */
export function knownHostName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** The key type named inside an SSH public key blob (its first string). */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) return '';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** OpenSSH's fingerprint: `SHA256:` + unpadded base64 of the SHA-256 of the key blob. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Short key type label as OpenSSH prints it (ED25519, ECDSA, RSA). */
export function keyTypeLabel(type: string): string {
  if (type === 'ssh-ed25519') return 'ED25519';
  if (type.startsWith('ecdsa-')) return 'ECDSA';
  if (type === 'ssh-rsa') return 'RSA';
  if (type === 'ssh-dss') return 'DSA';
  return type;
}

/** Parses known_hosts text; comments, blank lines and lines it cannot read are skipped, as OpenSSH does. */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (const [i, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'] = '';
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m !== '@cert-authority' && m !== '@revoked') continue;
      marker = m;
    }
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64 || !/^[A-Za-z0-9+/]+=*$/.test(b64)) continue;
    const key = Buffer.from(b64, 'base64');
    if (keyTypeOfBlob(key) !== keyType) continue;
    entries.push({ marker, hosts, keyType, key, file, line: i + 1 });
  }
  return entries;
}

/** Reads and parses a known_hosts file; a missing or unreadable file is empty. */
export function readKnownHostsFile(file: string): KnownHostEntry[] {
  try {
    return parseKnownHosts(readFileSync(file, 'utf8'), file);
  } catch {
    return [];
  }
}

/** Whether an entry's host field names `name` (plain patterns with negation and wildcards, or hashed `|1|`). */
export function entryMatchesHost(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    const want = Buffer.from(hash, 'base64');
    const got = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    return want.length === got.length && timingSafeEqual(want, got);
  }
  return matchPatternList(name, hosts.split(','), true) === 1;
}

/** Looks a server key up for `name` across entries (user files first, then global files). */
export function checkHostKey(entries: readonly KnownHostEntry[], name: string, key: Buffer): KnownHostStatus {
  const revoked = entries.find((e) => e.marker === '@revoked' && e.key.equals(key));
  if (revoked) return { status: 'revoked', entry: revoked };
  const type = keyTypeOfBlob(key);
  const forHost = entries.filter((e) => e.marker === '' && entryMatchesHost(e.hosts, name));
  const same = forHost.find((e) => e.key.equals(key));
  if (same) return { status: 'known', entry: same };
  const changed = forHost.find((e) => e.keyType === type);
  if (changed) return { status: 'changed', entry: changed };
  return { status: 'unknown', otherTypes: [...new Set(forHost.map((e) => e.keyType))] };
}

/** Key types known for `name` (used to prefer those host key algorithms). */
export function knownKeyTypes(entries: readonly KnownHostEntry[], name: string): Set<string> {
  return new Set(entries.filter((e) => e.marker === '' && entryMatchesHost(e.hosts, name)).map((e) => e.keyType));
}

/** The host field OpenSSH writes: the name itself, or `|1|salt|hash` with HashKnownHosts. */
export function hostField(name: string, hashed: boolean): string {
  if (!hashed) return name;
  const salt = randomBytes(20);
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

/** Appends `host keytype base64` to a known_hosts file (created 0600, its directory 0700), on a line of its own. */
export function appendKnownHost(file: string, name: string, key: Buffer, hashed: boolean): string {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const size = statSync(file).size;
    if (size > 0) {
      const fd = openSync(file, 'r');
      const last = Buffer.alloc(1);
      try {
        readSync(fd, last, 0, 1, size - 1);
      } finally {
        closeSync(fd);
      }
      if (last[0] !== 0x0a) prefix = '\n';
    }
  } catch {
    // a missing file is created below
  }
  const line = `${hostField(name, hashed)} ${keyTypeOfBlob(key)} ${key.toString('base64')}`;
  appendFileSync(file, `${prefix}${line}\n`, { mode: 0o600 });
  return line;
}
