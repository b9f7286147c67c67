/** The PSK identity both sides name (one key per agent process, so one identity is enough). */
export const PSK_IDENTITY = 'port-linker-data/1';

/** TLS 1.3 only: AES-GCM first (AES-NI), ChaCha20 for machines without it. (EC)DHE is always on (psk_dhe_ke). */
export const TLS_OPTIONS = {
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  ciphers: 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256',
} as const;
