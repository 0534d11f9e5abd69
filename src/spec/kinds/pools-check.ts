import { ValidationError } from "../../errors.js";
import { PoolNameSchema, type PoolSpec } from "../../model/pool.js";
import {
  checkPoolPlacements,
  parseAddressPlan,
  type AddressPlan,
  type PoolPlacement,
} from "../../pools/address-plan.js";
import { providerSettingsProblems } from "../../pools/record.js";
import { didYouMean } from "../../text/suggest.js";
import type { SpecItem, SpecProblem } from "../kind.js";
import { ADDRESS_PLAN_ITEM, ADDRESS_PLAN_KIND, problemUnder } from "./address-plan.js";

/**
 * What the files alone can say about `pools:` (docs/pools.md, "In gantry.yaml"): the stack's
 * address plan places every pool (known location and type, room for `max ?? size` nodes, no two
 * pools on one location and type), `size` is within `min`..`max`, the roles exist when the stack
 * defines roles, and each pool has its provider's settings and no other provider's.
 */
export function checkPools(
  items: readonly SpecItem<PoolSpec>[],
  all: readonly SpecItem[],
): Map<string, SpecProblem[]> {
  const problems = new Map<string, SpecProblem[]>();
  const add = (name: string, p: SpecProblem): void => {
    problems.set(name, [...(problems.get(name) ?? []), p]);
  };
  const roles = all.filter((i) => i.kind === "role").map((i) => i.name);
  for (const item of items) {
    for (const p of poolProblems(item, roles)) add(item.name, p);
  }
  const plan = stackPlan(all);
  if (plan === "broken") return problems;
  if (plan === undefined) {
    for (const item of items)
      add(item.name, {
        path: "",
        message:
          "pools need an addressPlan: none loaded — add addressPlan: {pattern, locations, types} at the top of gantry.yaml (docs/pools.md)",
      });
    return problems;
  }
  // One pool at a time, against those placed before it: every pool's own problem is reported,
  // and a clash names the second pool of the two.
  const placed: Record<string, PoolPlacement> = {};
  for (const item of items) {
    const { location, type } = item.spec;
    const one: PoolPlacement = {
      ...(location === undefined ? {} : { location }),
      ...(type === undefined ? {} : { type }),
      size: item.spec.max ?? item.spec.size,
    };
    try {
      checkPoolPlacements(plan, { ...placed, [item.name]: one }, "pools");
      placed[item.name] = one;
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      add(item.name, problemUnder(err, `pools.${item.name}`));
    }
  }
  return problems;
}

/** The stack's address plan; "broken" when it does not parse (its own check says why). */
function stackPlan(all: readonly SpecItem[]): AddressPlan | "broken" | undefined {
  const item = all.find((i) => i.kind === ADDRESS_PLAN_KIND && i.name === ADDRESS_PLAN_ITEM);
  if (item === undefined) return undefined;
  try {
    return parseAddressPlan(item.spec, ADDRESS_PLAN_ITEM);
  } catch (err) {
    if (err instanceof ValidationError) return "broken";
    throw err;
  }
}

/** One pool's problems that need no address plan. */
function poolProblems(item: SpecItem<PoolSpec>, roles: readonly string[]): SpecProblem[] {
  const out: SpecProblem[] = [];
  const spec = item.spec;
  const named = PoolNameSchema.safeParse(item.name);
  if (!named.success)
    out.push({ path: "", message: `the pool name ${named.error.issues[0]!.message}` });

  const min = spec.min ?? spec.size;
  const max = spec.max ?? spec.size;
  if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max)
    out.push({ path: "min", message: `${spec.min} is above max ${spec.max}` });
  else if (spec.size < min)
    out.push({
      path: "size",
      message: `${spec.size} is below min ${min}: a pool is never smaller than its min`,
    });
  else if (spec.size > max) out.push({ path: "size", message: `${spec.size} is above max ${max}` });

  // When the stack defines roles, a pool's roles must be among them (as for nodes:).
  if (roles.length > 0)
    spec.roles.forEach((r, i) => {
      if (!roles.includes(r))
        out.push({
          path: `roles[${i}]`,
          message: `the stack defines no role "${r}"${didYouMean(r, roles)}`,
        });
    });

  out.push(...providerSettingsProblems(spec));
  return out;
}
