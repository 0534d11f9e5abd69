import type { Policy } from "./token.js";

/**
 * What the local agent (of `gantry up`) may do: its own node, the health of any service placed
 * on it, and for converge (docs/converge.md): read KV keys its states read, take run-once locks.
 */
export const agentPolicies = (node: string): Policy[] => [
  { resource: "node", prefix: node, access: "write" },
  // States it converges may read app config with secret(APP, NAME), which the config API gives
  // to app writers only. This token lives in the data directory beside admin.token and the
  // secrets key, so it reaches nothing its holder could not reach already.
  { resource: "app", prefix: "", access: "write" },
  { resource: "service", prefix: "", access: "write" },
  { resource: "kv", prefix: "", access: "read" },
  { resource: "kv", prefix: "converge/once/", access: "write" },
  { resource: "session", prefix: "converge/", access: "write" },
];

/**
 * What a router may do: read apps (names, domains), services (passing instances) and the
 * certificates with their keys. `gantry up`'s router has it, and so has a router that joins.
 */
export const routerPolicies: Policy[] = [
  { resource: "app", prefix: "", access: "read" },
  { resource: "service", prefix: "", access: "read" },
  { resource: "cert", prefix: "", access: "read" },
];
