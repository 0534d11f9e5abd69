import { dirname } from "node:path";
import { ResourceFailed } from "../../errors.js";

const WHY: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  ENOTDIR: "a parent is not a directory",
  EISDIR: "is a directory",
  EEXIST: "already exists",
  ENOTEMPTY: "directory not empty",
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "file name too long",
  EBUSY: "device or resource busy",
  EXDEV: "crosses a file system boundary",
};

/** An errno error as one short phrase: "permission denied (EACCES)". */
export function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === "string") {
    const why = WHY[e.code];
    if (why !== undefined) return `${why} (${e.code})`;
    // Node's own text: "EIO: i/o error, open '/x'" → "i/o error (EIO)"
    const text = /^[A-Z0-9_]+: ([^,]*)/.exec(e.message)?.[1];
    return `${text ?? e.message} (${e.code})`;
  }
  return e instanceof Error ? e.message : String(err);
}

/** A ResourceFailed saying what could not be done to which path and why, without a stack. */
export function fsFailed(action: string, path: string, err: unknown): ResourceFailed {
  if (err instanceof ResourceFailed) return err;
  return new ResourceFailed(`cannot ${action} ${path}: ${describeError(err)}`);
}

/**
 * fsFailed for a change being applied: there ENOENT means `path`'s directory is missing (it
 * went away after the inspection, or the inspection was a check run), so name the directory.
 */
export function applyFailed(action: string, path: string, err: unknown): ResourceFailed {
  if (errnoCode(err) === "ENOENT")
    return new ResourceFailed(
      `cannot ${action} ${path}: directory ${dirname(path)} does not exist`,
    );
  return fsFailed(action, path, err);
}

/** The errno code of an error, if it has one. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}
