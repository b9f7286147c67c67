import { readFileSync } from 'node:fs';
import ssh2, { type ParsedKey } from 'ssh2';

const { utils } = ssh2;

/** An identity file as read from disk: parsed when unencrypted, else waiting for a passphrase. */
export type IdentityFile =
  | { path: string; state: 'ready'; key: ParsedKey; publicBlob: Buffer }
  | { path: string; state: 'encrypted'; data: Buffer; publicBlob: Buffer | undefined }
  | { path: string; state: 'missing' }
  | { path: string; state: 'unusable'; reason: string };

/** Reads and parses a private key file (OpenSSH, PKCS#1 RSA or SEC1 EC; ssh2 rejects PKCS#8). */
export function readIdentityFile(path: string): IdentityFile {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { path, state: 'missing' };
    return { path, state: 'unusable', reason: code ?? 'unreadable' };
  }
  const parsed = firstKey(utils.parseKey(data));
  if (!(parsed instanceof Error)) {
    if (!parsed.isPrivateKey()) return { path, state: 'unusable', reason: 'not a private key' };
    return { path, state: 'ready', key: parsed, publicBlob: parsed.getPublicSSH() };
  }
  if (/no passphrase given/i.test(parsed.message)) {
    return { path, state: 'encrypted', data, publicBlob: publicBlobOf(path, data) };
  }
  return { path, state: 'unusable', reason: parsed.message };
}

/** Decrypts an encrypted identity; undefined when the passphrase is wrong. */
export function decryptIdentity(data: Buffer, passphrase: string): ParsedKey | undefined {
  const parsed = firstKey(utils.parseKey(data, passphrase));
  return parsed instanceof Error ? undefined : parsed;
}

function firstKey(k: ParsedKey | ParsedKey[] | Error): ParsedKey | Error {
  if (Array.isArray(k)) return k[0] ?? new Error('no key in file');
  return k;
}

/**
 * The public key blob of a private key file without decrypting it: from `<path>.pub`, or from the unencrypted
 * public part of an `openssh-key-v1` file ("openssh-key-v1\0", cipher, kdf, kdf options, count, then the key).
 */
export function publicBlobOf(path: string, data: Buffer): Buffer | undefined {
  try {
    const pub = readFileSync(`${path}.pub`, 'utf8').trim().split(/\s+/)[1];
    if (pub) return Buffer.from(pub, 'base64');
  } catch {
    // no .pub file: fall through
  }
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]+?)-----END OPENSSH PRIVATE KEY-----/.exec(
    data.toString('utf8'),
  );
  if (!m?.[1]) return undefined;
  const raw = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (raw.subarray(0, magic.length).toString('latin1') !== magic) return undefined;
  let off = magic.length;
  const str = (): Buffer | undefined => {
    if (off + 4 > raw.length) return undefined;
    const len = raw.readUInt32BE(off);
    const out = raw.subarray(off + 4, off + 4 + len);
    off += 4 + len;
    return out.length === len ? out : undefined;
  };
  if (!str() || !str() || !str()) return undefined; // cipher, kdf, kdf options
  if (off + 4 > raw.length) return undefined;
  off += 4; // number of keys
  return str();
}
