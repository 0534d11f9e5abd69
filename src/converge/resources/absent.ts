import { rm, unlink } from "node:fs/promises";
import { resolve } from "node:path";
import * as z from "zod";
import { ResourceFailed } from "../errors.js";
import type { Inspection, ResourceType } from "../types.js";
import { errnoCode, fsFailed } from "./fs/errors.js";
import { absolutePath, kindOf, lstatIfAny, requireAbsolute } from "./fs/stat.js";

const fields = z.strictObject({});

export type AbsentProps = z.infer<typeof fields>;

const isRoot = (name: string): boolean => name.startsWith("/") && resolve(name) === "/";

/** `absent: /etc/nginx/sites-enabled/default`: no file, link or directory (recursively) there. */
export const absentType: ResourceType<AbsentProps> = {
  type: "absent",
  fields,
  validate(name) {
    if (isRoot(name)) return { field: "absent", message: "refusing to remove /" };
    return absolutePath("absent", name);
  },
  async inspect(path): Promise<Inspection> {
    requireAbsolute(path);
    if (isRoot(path)) throw new ResourceFailed("refusing to remove /");
    const st = await lstatIfAny(path);
    if (st === undefined) return { changes: [], apply: async () => undefined };
    const directory = st.isDirectory();
    return {
      changes: [`remove ${kindOf(st)}`],
      async apply() {
        try {
          // A link is removed itself, never what it points at.
          if (directory) await rm(path, { recursive: true });
          else await unlink(path);
        } catch (err) {
          if (errnoCode(err) === "ENOENT") return; // gone already: the desired state
          throw fsFailed("remove", path, err);
        }
      },
    };
  },
};
