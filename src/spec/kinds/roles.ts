import { relative, resolve } from "node:path";
import * as z from "zod";
import { StateError } from "../../converge/errors.js";
import { StateErrors } from "../../converge/error-list.js";
import { RoleNameSchema } from "../../model/converge.js";
import { diffValues } from "../diff.js";
import type { ApplyStep, FieldChange, Kind, KindContext, SpecItem, SpecProblem } from "../kind.js";
import {
  changeBundle,
  readBundle,
  rolesOf,
  TOP_FILES,
  topYaml,
  type RoleSpec,
} from "./roles-bundle.js";
import { folderFiles, STATES_ITEM, under } from "./roles-states.js";
import { convergeLoader, loadConverge } from "./converge-loader.js";

const StateNames = z.array(z.string().min(1).max(256)).max(256);

/** `web: [base, web]`, or `web: {states: [base, web], vars: {workers: 4}}`. */
const RoleSchema = z
  .union([
    StateNames,
    z.strictObject({ states: StateNames, vars: z.record(z.string(), z.unknown()).default({}) }),
  ])
  .transform((v): RoleSpec => (Array.isArray(v) ? { states: v, vars: {} } : v));

/**
 * `roles:` — converge roles (Salt's top file): which states of the `converge.states` folder a
 * role runs, and its vars. The stack writes them as the pushed bundle's top.yaml; each role
 * owns its own entry, so a role gone from the spec leaves the others alone.
 */
export const roleKind: Kind<RoleSpec, RoleSpec> = {
  name: "role",
  section: "roles",
  rank: 23,
  schema: RoleSchema,
  batchSize: 64,

  refs: () => [{ kind: "converge", name: STATES_ITEM }],

  async preload() {
    await loadConverge();
  },

  check(items, all, ctx) {
    const problems = new Map<string, SpecProblem[]>();
    const folder = all.find((i) => i.kind === "converge" && i.name === STATES_ITEM) as
      | SpecItem<string>
      | undefined;
    let files: Record<string, string> | undefined;
    try {
      files = folder === undefined ? undefined : folderFiles(ctx.dir, folder.spec);
    } catch {
      files = undefined; // the folder's own check says why
    }
    for (const item of items) {
      const list: SpecProblem[] = [];
      const named = RoleNameSchema.safeParse(item.name);
      if (!named.success)
        list.push({ path: "", message: `the role name ${named.error.issues[0]!.message}` });
      if (files !== undefined) {
        const why = statesOfRole(
          files,
          item.spec.states,
          relative(ctx.dir, resolve(ctx.dir, folder!.spec)),
        );
        if (why !== undefined) list.push({ path: "states", message: why });
      }
      if (list.length > 0) problems.set(item.name, list);
    }
    return problems;
  },

  async read(ctx, names) {
    const out = new Map();
    await loadConverge();
    const bundle = await readBundle(ctx);
    if (bundle === undefined) return out;
    const roles = rolesOf(bundle.files);
    for (const name of names) {
      const role = roles.get(name);
      if (role !== undefined)
        out.set(name, { name, value: role, revisions: { "converge/states": bundle.modRevision } });
    }
    return out;
  },

  diff(item, live) {
    return diffRole(item.spec, live?.value);
  },

  async create(ctx, item) {
    await applyRoles(ctx, [{ action: "create", item }]);
  },
  async update(ctx, item, live, changes) {
    await applyRoles(ctx, [{ action: "update", item, live, changes }]);
  },
  async destroy(ctx, name, live) {
    await applyRoles(ctx, [{ action: "destroy", name, live }]);
  },
  async applyBatch(ctx, steps) {
    await applyRoles(ctx, steps);
  },
};

/** A role's fields: `states` (the list, whole) and `vars.<name>`. */
export function diffRole(spec: RoleSpec, live: RoleSpec | undefined): FieldChange[] {
  const states: FieldChange[] =
    live !== undefined && live.states.join("\0") === spec.states.join("\0")
      ? []
      : [{ path: "states", ...(live === undefined ? {} : { old: live.states }), new: spec.states }];
  return [...states, ...diffValues(live?.vars ?? {}, spec.vars, "vars")];
}

/** Write these roles' entries into the bundle's top.yaml, in one push. */
async function applyRoles(ctx: KindContext, steps: ApplyStep<RoleSpec, RoleSpec>[]): Promise<void> {
  await loadConverge();
  await changeBundle(ctx, (live) => {
    if (live === undefined)
      throw new StateError(
        undefined,
        "no states were pushed yet: the converge.states folder comes first",
      );
    const roles = rolesOf(live);
    for (const s of steps)
      if (s.action === "destroy") roles.delete(s.name);
      else roles.set(s.item.name, s.item.spec);
    const files = { ...live };
    for (const f of TOP_FILES) delete files[f];
    return { ...files, "top.yaml": topYaml(roles) };
  });
}

/** Why a role's states cannot run from these files: the converge loader's own errors. */
function statesOfRole(
  files: Record<string, string>,
  states: string[],
  folder: string,
): string | undefined {
  if (states.length === 0) return undefined;
  try {
    convergeLoader().loadStates(files, { only: { roles: [], states } });
    return undefined;
  } catch (err) {
    if (err instanceof StateErrors || err instanceof StateError)
      return under(folder, err instanceof StateErrors ? err.errors : [err]);
    throw err;
  }
}
