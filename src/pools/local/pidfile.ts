import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../../fsutil/write-atomic.js";

/**
 * A process named by its pid and its start time (field 22 of /proc/PID/stat, in clock ticks
 * since boot): a pid the kernel has handed to another process since no longer matches.
 */
export interface ProcessMark {
  pid: number;
  startTime: string;
}

/** The start time of a live, non-zombie process, or undefined. */
export function startTimeOf(pid: number): string | undefined {
  try {
    // The command name (field 2) may hold spaces and parentheses: split after its last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** True when the process of `mark` still runs (and is that process, not a reused pid). */
export function runs(mark: ProcessMark): boolean {
  return startTimeOf(mark.pid) === mark.startTime;
}

/** Write `path` for a live process; undefined when it has already ended. */
export function writePidFile(path: string, pid: number): ProcessMark | undefined {
  const startTime = startTimeOf(pid);
  if (startTime === undefined) return undefined;
  const mark = { pid, startTime };
  writeFileAtomic(path, JSON.stringify(mark) + "\n", 0o600);
  return mark;
}

/** The mark in `path`, or undefined when there is none (or it is unreadable). */
export function readPidFile(path: string): ProcessMark | undefined {
  try {
    const data = JSON.parse(readFileSync(path, "utf8")) as Partial<ProcessMark>;
    if (typeof data.pid !== "number" || typeof data.startTime !== "string") return undefined;
    return { pid: data.pid, startTime: data.startTime };
  } catch {
    return undefined;
  }
}
