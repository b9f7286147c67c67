import 'reflect-metadata';
import { createHash, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** A fresh self-signed identity: PEM key and certificate, and the SHA-256 fingerprint of the certificate's DER. */
export interface QuicIdentity {
  keyPem: string;
  certPem: string;
  fingerprint: Uint8Array;
}

x509.cryptoProvider.set(webcrypto as unknown as webcrypto.Crypto);

/** SHA-256 of a DER certificate: what both sides pin. */
export function certificateFingerprint(der: Uint8Array): Uint8Array {
  return createHash('sha256').update(der).digest();
}

/** Generates a per-run Ed25519 key and a self-signed certificate for it (a few ms). */
export async function generateQuicIdentity(commonName = 'port-linker'): Promise<QuicIdentity> {
  const alg = { name: 'Ed25519' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8)))
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: `CN=${commonName}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 7 * 24 * 3600_000),
    keys,
    signingAlgorithm: alg,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/.{64}/g, '$&\n').trimEnd()}\n-----END PRIVATE KEY-----\n`;
  return { keyPem, certPem: cert.toString('pem'), fingerprint: certificateFingerprint(new Uint8Array(cert.rawData)) };
}
