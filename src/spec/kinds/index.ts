import type { Kind } from "../kind.js";
import { KindRegistry } from "../registry.js";
import { kvKind } from "./kv.js";
import { serviceKind } from "./service.js";
import { tokenKind } from "./token.js";

/**
 * The kinds every stack knows, in the order their sections are documented. A new kind is one
 * file in this folder and one line here (docs/stack.md, "Writing a kind").
 */
export function defaultKinds(): Kind[] {
  return [kvKind, tokenKind, serviceKind] as Kind[];
}

/** A registry holding the default kinds. */
export function defaultRegistry(): KindRegistry {
  return new KindRegistry(defaultKinds());
}
