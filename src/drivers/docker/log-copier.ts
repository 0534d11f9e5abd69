import { appendFileSync, readFileSync } from "node:fs";
import type Docker from "dockerode";
import { writeFileAtomic } from "../../fsutil/write-atomic.js";
import { alreadyCopied, FrameParser, splitTimestamp, type LogCursor } from "./frames.js";

/** Where the copier of `logFile` keeps its cursor. */
export const cursorFile = (logFile: string): string => `${logFile}.cursor`;

function readCursor(file: string): LogCursor | undefined {
  try {
    const c = JSON.parse(readFileSync(file, "utf8")) as Partial<LogCursor>;
    if (typeof c.container === "string" && typeof c.time === "string" && typeof c.seen === "number")
      return { container: c.container, time: c.time, seen: c.seen };
  } catch {
    // none yet, or unreadable: start from the beginning of this container's output
  }
  return undefined;
}

/** Whole seconds of an RFC 3339 time, for the engine's `since` (it keeps messages at or after). */
const unixSeconds = (time: string): number =>
  Math.floor(Date.parse(`${time.slice(0, 19)}Z`) / 1000) || 0;

/**
 * Copy a container's output (stdout and stderr, in order) to the end of `logFile` until the
 * stream ends (the container stopped, or the engine went away). A cursor file beside the log
 * records how far it got, after every write: a copier started later for the same container
 * (a restarted agent adopting it) resumes there, without repeating or skipping a message.
 */
export async function copyLogs(engine: Docker, container: string, logFile: string): Promise<void> {
  const cfile = cursorFile(logFile);
  const saved = readCursor(cfile);
  const cursor: LogCursor =
    saved?.container === container ? saved : { container, time: "", seen: 0 };
  const skip = { left: saved?.container === container ? saved.seen : 0 };
  const stream = (await engine.getContainer(container).logs({
    follow: true,
    stdout: true,
    stderr: true,
    timestamps: true,
    since: cursor.time === "" ? 0 : unixSeconds(cursor.time),
  })) as unknown as NodeJS.ReadableStream;
  const frames = new FrameParser();
  await new Promise<void>((resolve) => {
    stream.on("data", (chunk: Buffer) => {
      const out: Buffer[] = [];
      for (const payload of frames.push(chunk)) {
        const m = splitTimestamp(payload);
        if (m === undefined) out.push(payload);
        else if (!alreadyCopied(cursor, m, skip)) out.push(m.text);
      }
      if (out.length === 0) return;
      appendFileSync(logFile, Buffer.concat(out), { mode: 0o640 });
      writeFileAtomic(cfile, JSON.stringify(cursor), 0o600);
    });
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", () => resolve());
  });
}
