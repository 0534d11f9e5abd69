import { existsSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { AppNameSchema } from "../../model/app.js";
import type { Kind, KindContext, SpecItem, SpecProblem } from "../kind.js";
import { applyApp, destroyApp } from "./apps-apply.js";
import { diffApp } from "./apps-diff.js";
import { readApps, type LiveApp } from "./apps-read.js";
import { AppSpecSchema, type AppSpec } from "./apps-schema.js";
import { readSourceFolder } from "./apps-source.js";

/**
 * `apps:` — PaaS apps (docs/stack.md, "apps"): settings, domains, config and the names of
 * secrets set by hand, formation, and code built from a `source:` folder of the stack when its
 * content changes. Applied through the apps API, each deploy followed and streamed.
 */
export const appKind: Kind<AppSpec, LiveApp> = {
  name: "app",
  section: "apps",
  rank: 30,
  schema: AppSpecSchema,

  check(items, _all, ctx) {
    const problems = new Map<string, SpecProblem[]>();
    const add = (name: string, p: SpecProblem): void => {
      problems.set(name, [...(problems.get(name) ?? []), p]);
    };
    const owners = new Map<string, string>();
    for (const item of items) {
      const named = AppNameSchema.safeParse(item.name);
      if (!named.success)
        add(item.name, { path: "", message: `the app name ${named.error.issues[0]!.message}` });
      for (const [i, d] of (item.spec.domains ?? []).entries()) {
        const other = owners.get(d);
        if (other === undefined) owners.set(d, item.name);
        else
          add(item.name, {
            path: `domains[${i}]`,
            message: `${d} is also a domain of app ${other}`,
          });
      }
      for (const s of item.spec.secrets ?? [])
        if (item.spec.config?.[s] !== undefined)
          add(item.name, {
            path: `config.${s}`,
            message: `${s} is listed in secrets too: a var is one or the other`,
          });
      const why =
        item.spec.source === undefined ? undefined : sourceProblem(ctx.dir, item.spec.source);
      if (why !== undefined) add(item.name, { path: "source", message: why });
    }
    return problems;
  },

  read(ctx, names) {
    return readApps(ctx, names);
  },

  async diff(item, live, ctx) {
    return diffApp(item.name, item.spec, live?.value, await sourceHash(ctx, item));
  },

  async create(ctx, item) {
    const fields = diffApp(item.name, item.spec, undefined, await sourceHash(ctx, item));
    await applyApp(ctx, item, undefined, fields);
  },

  async update(ctx, item, live, changes) {
    await applyApp(ctx, item, live.value, changes);
  },

  async destroy(ctx, _name, live) {
    await destroyApp(ctx, live);
  },
};

/** The content hash of the item's `source:` folder, when it has one. */
async function sourceHash(ctx: KindContext, item: SpecItem<AppSpec>): Promise<string | undefined> {
  if (item.spec.source === undefined) return undefined;
  return (await readSourceFolder(resolve(ctx.dir, item.spec.source))).hash;
}

/** Why a `source:` path cannot be built: missing, not a folder, or outside the stack. */
export function sourceProblem(dir: string, source: string): string | undefined {
  const abs = resolve(dir, source);
  const rel = relative(dir, abs);
  if (isAbsolute(source) || rel === ".." || rel.startsWith("../") || isAbsolute(rel))
    return `"${source}" is outside the stack folder: give a folder inside it, like ./apps/web`;
  if (!existsSync(abs)) return `the folder "${source}" does not exist in the stack`;
  if (!statSync(abs).isDirectory()) return `"${source}" is not a folder`;
  return undefined;
}
