import { type ListeningSocket, socketKey } from '@port-linker/proto';
import { compareSockets } from './socket-rows.ts';

/** What changed between two scans. */
export interface ScanDiff {
  added: ListeningSocket[];
  removed: ListeningSocket[];
}

/**
 * Entries of `next` that `previous` lacks (added) and the reverse (removed), matched by socketKey. A changed
 * process name counts as removed + added, so a consumer that only applies deltas ends with the new name.
 * Both lists come out sorted.
 */
export function diffScans(previous: readonly ListeningSocket[], next: readonly ListeningSocket[]): ScanDiff {
  const before = new Map<string, ListeningSocket>();
  for (const s of previous) before.set(socketKey(s), s);
  const after = new Map<string, ListeningSocket>();
  for (const s of next) after.set(socketKey(s), s);
  const added: ListeningSocket[] = [];
  const removed: ListeningSocket[] = [];
  for (const [key, s] of after) {
    const old = before.get(key);
    if (!old || old.process !== s.process) added.push(s);
  }
  for (const [key, s] of before) {
    const now = after.get(key);
    if (!now || now.process !== s.process) removed.push(s);
  }
  return { added: added.sort(compareSockets), removed: removed.sort(compareSockets) };
}
