import { WIRE_PROTOCOL_VERSION } from '@port-linker/proto';
import pkg from '../package.json' with { type: 'json' };

/** The CLI's version, from its package.json (compared with the daemon's: a mismatch says what to do). */
export const VERSION: string = pkg.version;

/** What `port-linker --version` prints: the package version and the host <-> agent wire protocol version. */
export const VERSION_LINE = `port-linker ${VERSION} (wire protocol ${WIRE_PROTOCOL_VERSION})`;
