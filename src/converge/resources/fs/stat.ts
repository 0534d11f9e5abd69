import type { Stats } from "node:fs";
import { lstat, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { ResourceFailed } from "../../errors.js";
import { errnoCode, fsFailed } from "./errors.js";

/** lstat, or undefined when nothing is there; any other error is a ResourceFailed. */
export async function lstatIfAny(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    if (errnoCode(err) === "ENOTDIR")
      throw new ResourceFailed(`cannot inspect ${path}: a parent of it is not a directory`);
    throw fsFailed("inspect", path, err);
  }
}

/** The highest missing directory on the way to `dir` (itself included), or undefined. */
export async function missingAncestor(dir: string): Promise<string | undefined> {
  let missing: string | undefined;
  for (let d = dir; ; d = dirname(d)) {
    try {
      const st = await stat(d);
      if (!st.isDirectory()) throw new ResourceFailed(`cannot use ${dir}: ${d} is not a directory`);
      return missing;
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw fsFailed("inspect", d, err);
      missing = d;
      if (dirname(d) === d) return missing;
    }
  }
}

/**
 * Fail when the directory `path` goes in is missing, naming it; `hint` says how to fix that. In
 * check mode an earlier resource would have created it, so there a missing one passes.
 */
export async function requireParentDir(path: string, check: boolean, hint?: string): Promise<void> {
  if (check || (await missingAncestor(dirname(path))) === undefined) return;
  const how = hint === undefined ? "" : ` (${hint})`;
  throw new ResourceFailed(
    `cannot create ${path}: directory ${dirname(path)} does not exist${how}`,
  );
}

/** What kind of thing a path is, in the words changes and messages use. */
export function kindOf(st: Stats): string {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "directory";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isFIFO()) return "fifo";
  if (st.isSocket()) return "socket";
  return "device";
}

/** A resource's name must be an absolute path: relative ones would depend on the runner's cwd. */
export function absolutePath(
  type: string,
  name: string,
): { field: string; message: string } | undefined {
  if (name.startsWith("/") || name.includes("{{")) return undefined;
  return { field: type, message: `must be an absolute path, got "${name}"` };
}

/** Fails an inspect whose (rendered) name is not absolute. */
export function requireAbsolute(name: string): void {
  if (!name.startsWith("/")) throw new ResourceFailed(`${name}: must be an absolute path`);
}
