/**
 * What the SSH handshake needs of ssh2's client side: its Client, and the Authenticator (which parses keys with
 * ssh2). connect.ts imports this module only once the TCP connection to the server is on its way, so loading ssh2
 * (~40 ms here, before a byte could move) overlaps the TCP handshake and the server's banner; `--help` and
 * `--version` never load it.
 */
export { default as ssh2 } from 'ssh2';
export { Authenticator } from './auth.ts';
