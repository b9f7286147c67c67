/**
 * Version of the host <-> agent wire protocol (the frame layout and the message set in ARCHITECTURE.md). Frames of
 * an unknown type are skipped, so adding a message keeps it; changing a payload's layout bumps it.
 */
export const WIRE_PROTOCOL_VERSION = 1;

/** Bytes before every payload: [type:1][length:4 big-endian]. */
export const FRAME_HEADER_SIZE = 5;

/** Default bound on one payload: 16 MiB. Anything larger is a protocol violation, not a wait. */
export const DEFAULT_MAX_FRAME_LENGTH = 16 * 1024 * 1024;

/** A whole frame: its type byte and its payload (a view; copy it to keep it past the next push). */
export interface Frame {
  type: number;
  payload: Uint8Array;
}
