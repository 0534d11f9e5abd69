import { readdirSync, readFileSync } from "node:fs";

/**
 * Process facts from /proc (Linux). Signals alone cannot tell a zombie from a live process, and
 * an adopted task's parent (init, or whatever reaps orphans here) may be slow to reap it.
 */

interface Stat {
  state: string;
  pgrp: number;
}

/** `/proc/<pid>/stat`: the state letter and process group; undefined when there is no such pid. */
export function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp …" — comm may hold spaces and parentheses: cut at the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0] ?? "?", pgrp: Number(fields[2]) };
}

const living = (s: Stat | undefined): s is Stat =>
  s !== undefined && s.state !== "Z" && s.state !== "X";

/** Whether `pid` is a live process (not a zombie). */
export function pidAlive(pid: number): boolean {
  return living(readStat(pid));
}

/** The live processes in process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return [];
  }
  // kill(2) counts zombies as members: look at the members themselves.
  const members: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (living(s) && s.pgrp === pgid) members.push(Number(name));
  }
  return members;
}

/** Whether any live process is in process group `pgid`. */
export const groupAlive = (pgid: number): boolean => groupMembers(pgid).length > 0;

/** Whether the environment of `pid` holds `name=value` (false when it cannot be read). */
export function environHas(pid: number, name: string, value: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`${name}=${value}`);
  } catch {
    return false;
  }
}

/** Signal a whole process group; a group that is already gone is not an error. */
export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}
