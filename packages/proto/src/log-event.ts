import type { ByteReader } from './byte-reader.ts';
import { type ByteWriter, utf8Truncated } from './byte-writer.ts';

/** Log levels on the wire (1 = error .. 5 = trace), as the agent ships them. */
export const LogLevel = { error: 1, warn: 2, info: 3, debug: 4, trace: 5 } as const;

/** A log level name. */
export type LogLevelName = keyof typeof LogLevel;

const LEVEL_NAMES: readonly LogLevelName[] = ['error', 'warn', 'info', 'debug', 'trace'];

/** One agent log record. */
export interface LogEvent {
  level: LogLevelName;
  /** Module that logged, e.g. `agent.watch`; at most 255 UTF-8 bytes on the wire. */
  target: string;
  message: string;
}

/** Largest message kept per event: event_len is u16 and also covers level, target_len and target. */
const MAX_EVENT = 0xffff;

function parts(e: LogEvent): { target: Uint8Array; message: Uint8Array } {
  const target = utf8Truncated(e.target, 255);
  const message = utf8Truncated(e.message, MAX_EVENT - 2 - target.byteLength);
  return { target, message };
}

/*
 * LogBatch layout: [count:2] then count events of
 *   [event_len:2][level:1 1..5][target_len:1][target][message: the rest of event_len]
 * event_len counts everything after itself.
 */

/** Encoded size of one event including its length prefix. */
export function logEventSize(e: LogEvent): number {
  const p = parts(e);
  return 2 + 2 + p.target.byteLength + p.message.byteLength;
}

/** Writes one event. */
export function writeLogEvent(w: ByteWriter, e: LogEvent): void {
  const p = parts(e);
  w.u16(2 + p.target.byteLength + p.message.byteLength, 'event_len')
    .u8(LogLevel[e.level], 'level')
    .u8(p.target.byteLength, 'target_len')
    .raw(p.target)
    .raw(p.message);
}

/** Reads one event. */
export function readLogEvent(r: ByteReader): LogEvent {
  const len = r.u16('event_len');
  const end = r.remaining - len;
  if (len < 2 || end < 0) throw r.error(`event_len ${len} does not fit the batch`);
  const levelByte = r.u8('level');
  const level = LEVEL_NAMES[levelByte - 1];
  if (!level) throw r.error(`unknown log level ${levelByte}`);
  const targetLen = r.u8('target_len');
  if (targetLen > len - 2) throw r.error(`target_len ${targetLen} exceeds event_len ${len}`);
  const target = r.utf8(targetLen, 'target');
  const message = r.utf8(r.remaining - end, 'message');
  return { level, target, message };
}
