import ssh2 from 'ssh2';

/**
 * An ed25519 host key for an in-process ssh2 server in unit tests. ssh2's generateKeyPairSync('ed25519') writes a
 * key its own parser rejects ("Malformed OpenSSH private key") about once in 250 (12 of 3,000 here), so such a key
 * is drawn again.
 */
export function testHostKey(): string {
  for (;;) {
    const key = ssh2.utils.generateKeyPairSync('ed25519').private;
    if (!(ssh2.utils.parseKey(key) instanceof Error)) return key;
  }
}
