/**
 * The engine's multiplexed log stream (no TTY): frames of an 8-byte header — stream (1 stdout,
 * 2 stderr), three zero bytes, a big-endian length — and the payload. With `timestamps`, each
 * payload is one log message prefixed by its RFC 3339 time with nanoseconds, always 9 digits,
 * so two times compare as strings.
 */

export interface LogMessage {
  /** `2024-05-01T12:00:00.123456789Z`. */
  time: string;
  text: Buffer;
}

/** Splits a byte stream into frame payloads, whatever the chunk boundaries. */
export class FrameParser {
  private pending: Buffer = Buffer.alloc(0);

  /** The payloads completed by `chunk`. */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      out.push(this.pending.subarray(8, 8 + size));
      this.pending = this.pending.subarray(8 + size);
    }
    return out;
  }
}

/** A timestamped payload split into its time and text (undefined when it has no time). */
export function splitTimestamp(payload: Buffer): LogMessage | undefined {
  const space = payload.indexOf(0x20);
  if (space < 20 || space > 40) return undefined;
  return { time: payload.subarray(0, space).toString("latin1"), text: payload.subarray(space + 1) };
}

/**
 * How far a container's output has been copied: the time of the last message written and how
 * many messages with exactly that time were written (times can repeat).
 */
export interface LogCursor {
  container: string;
  time: string;
  seen: number;
}

/** Whether `m` was copied already by the copier that left `cursor`; advances `cursor` if not. */
export function alreadyCopied(cursor: LogCursor, m: LogMessage, skip: { left: number }): boolean {
  if (m.time < cursor.time) return true;
  if (m.time === cursor.time && skip.left > 0) {
    skip.left--;
    return true;
  }
  if (m.time === cursor.time) cursor.seen++;
  else {
    cursor.time = m.time;
    cursor.seen = 1;
  }
  return false;
}
