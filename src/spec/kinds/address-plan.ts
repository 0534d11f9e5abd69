import type * as z from "zod";
import { PoolsClient } from "../../client/pools.js";
import { ValidationError } from "../../errors.js";
import { AddressPlanSchema, parseAddressPlan } from "../../pools/address-plan.js";
import { createFields, diffValues } from "../diff.js";
import type { Kind, KindContext, SpecProblem } from "../kind.js";

/** The one item of the address-plan kind, written as `addressPlan:` at the top of gantry.yaml. */
export const ADDRESS_PLAN_ITEM = "addressPlan";
export const ADDRESS_PLAN_KIND = "address-plan";

export type AddressPlanSpec = z.output<typeof AddressPlanSchema>;

/**
 * A ValidationError of the address-plan module as a problem inside an item: its field
 * (`addressPlan.types.web`) made relative to `root` (`types.web`), its message without the
 * field it starts with (the loader prints the path itself).
 */
export function problemUnder(err: ValidationError, root: string): SpecProblem {
  const field = err.field ?? root;
  const path =
    field === root ? "" : field.startsWith(`${root}.`) ? field.slice(root.length + 1) : "";
  const message = err.message.startsWith(`${field}: `)
    ? err.message.slice(field.length + 2)
    : err.message;
  return { path, message };
}

/**
 * `addressPlan:` — the address plan pools take their node addresses from (docs/pools.md):
 * `PUT /v1/address-plan`. Diffed field by field (`pattern`, `locations.X`, `types.X`); the server
 * re-addresses the pools it changes. Destroying it is refused by the server while a pool uses it
 * (pools rank above it, so a pruned pool goes first).
 */
export const addressPlanKind: Kind<AddressPlanSpec, AddressPlanSpec> = {
  name: ADDRESS_PLAN_KIND,
  section: "addressPlans",
  topLevel: [ADDRESS_PLAN_ITEM],
  rank: 25,
  schema: AddressPlanSchema,

  check(items) {
    const problems = new Map<string, SpecProblem[]>();
    for (const item of items) {
      if (item.name !== ADDRESS_PLAN_ITEM) {
        problems.set(item.name, [
          { path: "", message: `there is one address plan: write it as addressPlan: at the top` },
        ]);
        continue;
      }
      try {
        parseAddressPlan(item.spec, ADDRESS_PLAN_ITEM);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        problems.set(item.name, [problemUnder(err, ADDRESS_PLAN_ITEM)]);
      }
    }
    return problems;
  },

  async read(ctx, names) {
    const out = new Map();
    if (!names.includes(ADDRESS_PLAN_ITEM)) return out;
    const plan = await new PoolsClient(ctx.client).addressPlan();
    if (plan === undefined) return out;
    const { modRevision, ...value } = plan;
    out.set(ADDRESS_PLAN_ITEM, {
      name: ADDRESS_PLAN_ITEM,
      value,
      revisions: { "sys/address-plan": modRevision },
    });
    return out;
  },

  diff(item, live) {
    if (live === undefined) return createFields(item.spec);
    const { pattern, locations, types } = live.value;
    return diffValues({ pattern, locations, types }, item.spec);
  },

  async create(ctx, item) {
    await write(ctx, item.spec);
  },
  async update(ctx, item) {
    await write(ctx, item.spec);
  },
  async destroy(ctx) {
    await new PoolsClient(ctx.client).deleteAddressPlan();
    ctx.progress("address plan removed");
  },
};

async function write(ctx: KindContext, spec: AddressPlanSpec): Promise<void> {
  const res = await new PoolsClient(ctx.client).setAddressPlan(spec);
  const count = (m: object, one: string): string => {
    const n = Object.keys(m).length;
    return `${n} ${one}${n === 1 ? "" : "s"}`;
  };
  // The server answers which pools the new plan gives new addresses (their nodes roll).
  const moved = (res as { replanned?: string[] }).replanned ?? [];
  ctx.progress(
    `address plan ${spec.pattern}: ${count(spec.locations, "location")}, ${count(spec.types, "type")}` +
      (moved.length === 0
        ? ""
        : `; new addresses for pool${moved.length === 1 ? "" : "s"} ${moved.join(", ")} (nodes replaced one at a time)`),
  );
}
