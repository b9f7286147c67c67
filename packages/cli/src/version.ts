/** Version shown by -V and compared with the daemon's (kept in step with package.json by the release process). */
export const VERSION = '0.1.0';
