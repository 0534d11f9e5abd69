import type { Stats } from "node:fs";
import { chmod, chown, mkdir, stat } from "node:fs/promises";
import * as z from "zod";
import { ResourceFailed } from "../errors.js";
import type { Inspection, ResourceType } from "../types.js";
import { attrChanges, attrShape, finalAttrs, fixAttrs, resolveWanted } from "./fs/attrs.js";
import { applyFailed } from "./fs/errors.js";
import { absolutePath, kindOf, lstatIfAny, requireAbsolute, requireParentDir } from "./fs/stat.js";

const fields = z.strictObject({
  ...attrShape,
  /** Create missing parents too, like `mkdir -p` (default true). */
  makeDirs: z.boolean().optional(),
});

export type DirectoryProps = z.infer<typeof fields>;

/** A symlink to a directory counts as the directory (`/var/www` → `/srv/www`); else undefined. */
async function throughLink(path: string): Promise<Stats | undefined> {
  try {
    const st = await stat(path);
    return st.isDirectory() ? st : undefined;
  } catch {
    return undefined;
  }
}

/** `directory: /srv/app`: a directory with this mode, owner and group. */
export const directoryType: ResourceType<DirectoryProps> = {
  type: "directory",
  fields,
  validate(name) {
    return absolutePath("directory", name);
  },
  async inspect(path, props, ctx): Promise<Inspection> {
    requireAbsolute(path);
    const wanted = resolveWanted(path, props, ctx);
    let st = await lstatIfAny(path);
    if (st?.isSymbolicLink()) {
      st = await throughLink(path);
      if (st === undefined)
        throw new ResourceFailed(`cannot manage ${path}: it is a symlink to no directory`);
    }
    if (st !== undefined && !st.isDirectory())
      throw new ResourceFailed(
        `cannot manage ${path}: it is a ${kindOf(st)}, not a directory (remove it first with absent)`,
      );
    if (st !== undefined) {
      const existing = st;
      const changes = attrChanges(existing, wanted);
      return {
        changes,
        apply: async () => (changes.length ? fixAttrs(path, wanted, existing) : undefined),
      };
    }

    const recursive = props.makeDirs !== false;
    if (!recursive)
      await requireParentDir(path, ctx.check, "create it first, or set makeDirs: true");
    return {
      changes: ["create"],
      async apply() {
        const attrs = finalAttrs(path, wanted, undefined, 0o755);
        try {
          await mkdir(path, { recursive });
          await chown(path, attrs.uid, attrs.gid);
          await chmod(path, attrs.mode); // explicit: the umask must not decide it
        } catch (err) {
          throw applyFailed("create", path, err);
        }
      },
    };
  },
};
