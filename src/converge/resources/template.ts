import * as z from "zod";
import type { ResourceType } from "../types.js";
import { attrShape } from "./fs/attrs.js";
import { inspectManagedFile } from "./fs/content.js";
import { absolutePath } from "./fs/stat.js";

const fields = z.strictObject({
  /** A nunjucks template in the states dir (`templates/site.conf.j2`). */
  source: z.string().min(1),
  ...attrShape,
  /** Create missing parent directories (0755); default false: a missing parent fails. */
  makeDirs: z.boolean().optional(),
});

export type TemplateProps = z.infer<typeof fields>;

/**
 * `template: /etc/nginx/sites-enabled/app`: a file rendered from a states-dir template with the
 * resource's vars and facts, then managed exactly like `file`.
 */
export const templateType: ResourceType<TemplateProps> = {
  type: "template",
  fields,
  validate(name) {
    return absolutePath("template", name);
  },
  async inspect(name, props, ctx) {
    const content = await ctx.render(ctx.source(props.source), props.source);
    return inspectManagedFile(name, content, props, ctx);
  },
};
