import { readdir, readlink, rmdir } from "node:fs/promises";
import * as z from "zod";
import { ResourceFailed } from "../errors.js";
import type { Inspection, ResourceType } from "../types.js";
import { symlinkAtomic } from "./fs/atomic.js";
import { applyFailed, fsFailed } from "./fs/errors.js";
import { absolutePath, kindOf, lstatIfAny, requireAbsolute, requireParentDir } from "./fs/stat.js";

const fields = z.strictObject({
  /** What the link points at, verbatim (absolute or relative to the link's directory). */
  target: z.string().min(1),
  /** Replace a file (or an empty directory) in the way; a link elsewhere is always re-pointed. */
  force: z.boolean().optional(),
});

export type SymlinkProps = z.infer<typeof fields>;

/** `symlink: /etc/nginx/sites-enabled/app`: a symbolic link to `target`. */
export const symlinkType: ResourceType<SymlinkProps> = {
  type: "symlink",
  fields,
  validate(name) {
    return absolutePath("symlink", name);
  },
  async inspect(path, props, ctx): Promise<Inspection> {
    requireAbsolute(path);
    const { target } = props;
    const st = await lstatIfAny(path);
    let change: string;
    let emptyDir = false;
    if (st === undefined) {
      await requireParentDir(path, ctx.check, "create it first");
      change = `create → ${target}`;
    } else if (st.isSymbolicLink()) {
      let current: string;
      try {
        current = await readlink(path);
      } catch (err) {
        throw fsFailed("read link", path, err);
      }
      if (current === target) return { changes: [], apply: async () => undefined };
      change = `target ${current} → ${target}`;
    } else if (props.force !== true) {
      throw new ResourceFailed(
        `cannot create symlink ${path}: a ${kindOf(st)} is in the way (set force: true to replace it)`,
      );
    } else if (st.isDirectory()) {
      let entries: string[];
      try {
        entries = await readdir(path);
      } catch (err) {
        throw fsFailed("read", path, err);
      }
      if (entries.length > 0)
        throw new ResourceFailed(
          `cannot create symlink ${path}: a directory with ${entries.length} entries is in the way (remove it first with absent)`,
        );
      change = `replace directory with symlink → ${target}`;
      emptyDir = true;
    } else {
      change = `replace ${kindOf(st)} with symlink → ${target}`;
    }
    return {
      changes: [change],
      async apply() {
        try {
          if (emptyDir) await rmdir(path);
          await symlinkAtomic(target, path);
        } catch (err) {
          throw applyFailed("create symlink", path, err);
        }
      },
    };
  },
};
