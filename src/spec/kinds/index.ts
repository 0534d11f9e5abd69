import type { Kind } from "../kind.js";
import { KindRegistry } from "../registry.js";
import { addressPlanKind } from "./address-plan.js";
import { appKind } from "./apps.js";
import { cronKind } from "./cron.js";
import { kvKind } from "./kv.js";
import { nodeKind } from "./nodes.js";
import { pipelineKind } from "./pipelines.js";
import { poolKind } from "./pools.js";
import { convergeKind } from "./roles-states.js";
import { roleKind } from "./roles.js";
import { serviceKind } from "./service.js";
import { tokenKind } from "./token.js";

/**
 * The kinds every stack knows, in the order their sections are documented. A new kind is one
 * file in this folder and one line here (docs/stack.md, "Writing a kind").
 */
export function defaultKinds(): Kind[] {
  return [
    kvKind,
    tokenKind,
    serviceKind,
    appKind,
    convergeKind,
    roleKind,
    nodeKind,
    addressPlanKind,
    poolKind,
    pipelineKind,
    cronKind,
  ] as Kind[];
}

/** A registry holding the default kinds. */
export function defaultRegistry(): KindRegistry {
  return new KindRegistry(defaultKinds());
}
