import * as z from "zod";
import type { ResourceType } from "../types.js";
import { attrShape } from "./fs/attrs.js";
import { inspectManagedFile } from "./fs/content.js";
import { absolutePath } from "./fs/stat.js";

const fields = z.strictObject({
  /** The file's content, verbatim (after `{{ }}` rendering by compile). */
  content: z.string().optional(),
  /** A file of the states dir copied verbatim (`files/motd`). */
  source: z.string().min(1).optional(),
  ...attrShape,
  /** Create missing parent directories (0755); default false: a missing parent fails. */
  makeDirs: z.boolean().optional(),
});

export type FileProps = z.infer<typeof fields>;

/** `file: /etc/app.conf`: a regular file with this content (or source), mode, owner and group. */
export const fileType: ResourceType<FileProps> = {
  type: "file",
  fields,
  validate(name, props) {
    const notAbsolute = absolutePath("file", name);
    if (notAbsolute !== undefined) return notAbsolute;
    if (props.content !== undefined && props.source !== undefined)
      return { field: "content", message: "set content or source, not both" };
    if (props.content === undefined && props.source === undefined)
      return { field: "content", message: "set content or source" };
    return undefined;
  },
  async inspect(name, props, ctx) {
    const content = props.content ?? ctx.source(props.source as string);
    return inspectManagedFile(name, content, props, ctx);
  },
};
