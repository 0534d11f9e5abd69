/**
 * Whether a token's policies allow an action — the rule alone, without zod, so the dashboard
 * (web/) uses the very same code as the API to leave out what a token may not do.
 */
export const RESOURCES = [
  "kv",
  "service",
  "session",
  "node",
  "app",
  "states",
  "stack",
  "cert",
  "pool",
] as const;
export type Resource = (typeof RESOURCES)[number];
/**
 * Read < deploy < write. `deploy` exists for apps only: push, config, scale, rollback, run — what
 * a CI token needs — but not creating or deleting the app, its domains, settings or certificates.
 */
export type Access = "read" | "deploy" | "write";

/** A policy as stored (src/model/token.ts validates it). */
export type PolicyShape =
  | { admin: true }
  | { resource: Resource; prefix: string; access: Access; exact?: true | undefined };

const LEVEL: Record<Access, number> = { read: 0, deploy: 1, write: 2 };

/** Whether a policy's access level includes `wanted` (write ⊇ deploy ⊇ read). */
export const covers = (held: Access, wanted: Access): boolean => LEVEL[held] >= LEVEL[wanted];

/** Whether the policies allow `access` on the resource's `name` (or on every name under it). */
export function granted(
  policies: readonly PolicyShape[],
  resource: Resource,
  access: Access,
  target: string,
): boolean {
  for (const p of policies) {
    if ("admin" in p) return true;
    if (p.resource !== resource) continue;
    if (!covers(p.access, access)) continue;
    if (p.exact === true ? target === p.prefix : target.startsWith(p.prefix)) return true;
  }
  return false;
}

export function isAdmin(policies: readonly PolicyShape[]): boolean {
  return policies.some((p) => "admin" in p);
}
