import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { ValidationError } from "../errors.js";

/** The largest file a states dir may hold: states and templates, not data. */
export const MAX_STATE_FILE = 1024 * 1024;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A states dir as a Job carries it: relative path (with "/") → UTF-8 content. Skips `.git`;
 * refuses files over 1 MiB and files that are not UTF-8, naming them.
 */
export function readStatesDir(dir: string): Record<string, string> {
  let top;
  try {
    top = statSync(dir);
  } catch {
    throw new ValidationError(`states dir "${dir}" does not exist`, "--states");
  }
  if (!top.isDirectory()) throw new ValidationError(`"${dir}" is not a directory`, "--states");
  const files: Record<string, string> = {};
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      if (entry.name === ".git") continue;
      const full = join(at, entry.name);
      const st = entry.isSymbolicLink() ? statSync(full, { throwIfNoEntry: false }) : entry;
      if (st === undefined) continue; // a dangling link
      if (st.isDirectory()) {
        walk(full);
        continue;
      }
      if (!st.isFile()) continue;
      const rel = relative(dir, full).split(sep).join("/");
      const size = statSync(full).size;
      if (size > MAX_STATE_FILE)
        throw new ValidationError(
          `${rel}: ${size} bytes is too large for a states dir (at most 1 MiB)`,
        );
      try {
        files[rel] = utf8.decode(readFileSync(full));
      } catch {
        throw new ValidationError(`${rel}: not UTF-8 text (a states dir holds text files)`);
      }
    }
  };
  walk(dir);
  return files;
}
