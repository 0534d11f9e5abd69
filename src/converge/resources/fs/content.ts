import type { Stats } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { ResourceFailed } from "../../errors.js";
import type { Inspection, ResourceContext } from "../../types.js";
import { writeAtomic } from "./atomic.js";
import { attrChanges, finalAttrs, fixAttrs, resolveWanted, type AttrFields } from "./attrs.js";
import { isBinary, unifiedDiff } from "./diff.js";
import { applyFailed, fsFailed } from "./errors.js";
import { kindOf, lstatIfAny, missingAncestor, requireAbsolute } from "./stat.js";

/** Existing files above this size are compared but not diffed. */
const MAX_DIFF_BYTES = 4 * 1024 * 1024;

/** The diff shown for a content change, redacted; a note instead for binary or huge files. */
export function contentDiff(
  path: string,
  before: Buffer | undefined,
  after: Buffer,
  ctx: ResourceContext,
): string {
  if (before !== undefined && (isBinary(before) || isBinary(after)))
    return `Binary files ${path} and ${path} differ\n`;
  if ((before?.length ?? 0) > MAX_DIFF_BYTES || after.length > MAX_DIFF_BYTES)
    return `--- ${path}\n+++ ${path}\n(diff omitted: ${before?.length ?? 0} → ${after.length} bytes)\n`;
  const from = before === undefined ? "/dev/null" : path;
  return ctx.redact(
    unifiedDiff(before?.toString("utf8") ?? "", after.toString("utf8"), { from, to: path }),
  );
}

/** Reads a file that lstat found, as a ResourceFailed on error. */
export async function readExisting(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw fsFailed("read", path, err);
  }
}

/** Fields of a file whose content Gantry owns (file, template). */
export interface ManagedFile extends AttrFields {
  makeDirs?: boolean | undefined;
}

/**
 * Inspects `path` against the wanted content and attributes, and applies the difference: a new
 * or changed content is written atomically (with its mode and owner in the same step); only
 * owner or mode differing are fixed in place without rewriting the file.
 */
export async function inspectManagedFile(
  path: string,
  content: string,
  fields: ManagedFile,
  ctx: ResourceContext,
): Promise<Inspection> {
  requireAbsolute(path);
  const wanted = resolveWanted(path, fields, ctx);
  const bytes = Buffer.from(content, "utf8");
  const st = await lstatIfAny(path);
  const changes: string[] = [];
  let diff: string | undefined;
  let write = false;
  let makeDir: string | undefined;

  if (st === undefined) {
    const parent = dirname(path);
    makeDir = await missingAncestor(parent);
    if (makeDir !== undefined && fields.makeDirs !== true) {
      // In check mode an earlier directory resource would have created it: report, don't fail.
      if (!ctx.check)
        throw new ResourceFailed(
          `cannot create ${path}: directory ${parent} does not exist (create it first, or set makeDirs: true)`,
        );
      makeDir = undefined;
    }
    if (makeDir !== undefined) changes.push(`create directory ${makeDir}`);
    changes.push("create");
    diff = contentDiff(path, undefined, bytes, ctx);
    write = true;
  } else if (st.isSymbolicLink()) {
    changes.push("replace symlink with file");
    diff = contentDiff(path, undefined, bytes, ctx);
    write = true;
  } else if (!st.isFile()) {
    throw new ResourceFailed(
      `cannot manage ${path}: it is a ${kindOf(st)}, not a file (remove it first with absent)`,
    );
  } else {
    const before = await readExisting(path);
    if (!before.equals(bytes)) {
      changes.push("content");
      diff = contentDiff(path, before, bytes, ctx);
      write = true;
    }
    changes.push(...attrChanges(st, wanted));
  }

  const existing: Stats | undefined = st?.isFile() ? st : undefined;
  const inspection: Inspection = {
    changes,
    async apply() {
      if (changes.length === 0) return;
      if (!write) return fixAttrs(path, wanted, st as Stats);
      try {
        if (makeDir !== undefined) await mkdir(dirname(path), { recursive: true, mode: 0o755 });
        await writeAtomic(path, bytes, finalAttrs(path, wanted, existing, 0o644));
      } catch (err) {
        throw applyFailed("write", path, err);
      }
    },
  };
  if (diff !== undefined) inspection.diff = diff;
  return inspection;
}
