import { statfsSync } from 'node:fs';

/**
 * Free space the daemon wants in its state dir to start: the pid file, the log, SQLite's WAL and shared-memory files
 * (SQLite maps the latter: writing a mapped page of a full tmpfs is a SIGBUS, not an error). A running daemon that
 * runs out of space keeps forwarding (saves answer 507); one that would start on a full disk is refused instead.
 */
export const START_ROOM_BYTES = 1024 * 1024;

/** Why the daemon cannot start in `stateDir` for want of space, or undefined when there is room (or statfs fails). */
export function noRoomToStart(stateDir: string): string | undefined {
  let free: number;
  try {
    const s = statfsSync(stateDir);
    free = s.bavail * s.bsize;
  } catch {
    return undefined;
  }
  if (free >= START_ROOM_BYTES) return undefined;
  return `cannot start the daemon: the disk of its state dir ${stateDir} is full (${Math.floor(free / 1024)} KiB free, it needs ${START_ROOM_BYTES / 1024 / 1024} MiB): free some space there and try again`;
}
