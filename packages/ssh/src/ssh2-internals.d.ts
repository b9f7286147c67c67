// Vendor patches S1, S2 (ssh2@1.17.0 lib/protocol/constants.js and crypto.js): see docs/vendor-patches.md.
/** Internal ssh2 modules read for facts ssh2 exposes no public API for (algorithm lists, native binding). */
declare module 'ssh2/lib/protocol/constants.js' {
  const constants: {
    DEFAULT_CIPHER: string[];
    SUPPORTED_CIPHER: string[];
    DEFAULT_SERVER_HOST_KEY: string[];
    SUPPORTED_SERVER_HOST_KEY: string[];
  };
  export default constants;
}
declare module 'ssh2/lib/protocol/crypto.js' {
  const crypto: { bindingAvailable: boolean };
  export default crypto;
}
