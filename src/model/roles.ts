import { ValidationError } from "../errors.js";
import { AppNameSchema } from "./app.js";
import { covers, RESOURCES, type Access, type Policy, type Resource } from "./token.js";

/**
 * Roles are named bundles of policies, expanded when a token is made (the record keeps the
 * role's name to show it). Config values need app write, so a viewer never reads them.
 */
export const ROLES = ["admin", "operator", "deployer", "viewer"] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_SUMMARY: Record<Role, string> = {
  admin: "everything, tokens and the audit log included",
  operator: "everything but tokens and the audit log",
  deployer: "push, config, scale and rollback of the given apps (--app)",
  viewer: "read everything except config values and certificate keys",
};

/** The policies of a role; `apps` is required by deployer and refused by the others. */
export function rolePolicies(
  role: string,
  apps: readonly string[],
  field = "role",
  appsField = "apps",
): Policy[] {
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new ValidationError(`unknown role "${role}"; use one of ${ROLES.join(", ")}`, field);
  }
  const r = role as Role;
  if (r !== "deployer" && apps.length > 0) {
    throw new ValidationError(
      `only the deployer role takes apps; ${r} covers every app`,
      appsField,
    );
  }
  switch (r) {
    case "admin":
      return [{ admin: true }];
    case "operator":
      return RESOURCES.map((resource) => ({ resource, prefix: "", access: "write" as const }));
    case "viewer":
      // Certificate keys are secrets, like config values: not for viewers.
      return RESOURCES.filter((r) => r !== "cert").map((resource) => ({
        resource,
        prefix: "",
        access: "read" as const,
      }));
    case "deployer": {
      if (apps.length === 0) throw new ValidationError("the deployer role needs an app", appsField);
      return apps.map((app) => {
        if (!AppNameSchema.safeParse(app).success)
          throw new ValidationError(`"${app}" is not an app name`, appsField);
        return { resource: "app" as const, prefix: app, access: "deploy" as const, exact: true };
      });
    }
  }
}

/** One line of what a token may do: an action on a resource, and the names it covers. */
export interface Capability {
  resource: Resource | "tokens" | "audit" | "config values";
  access: Access;
  names: string[];
}

const describeName = (p: { prefix: string; exact?: true }): string =>
  p.exact === true ? p.prefix : p.prefix === "" ? "*" : `${p.prefix}*`;

/** Every resource × access with the names a token's policies grant (empty names: none). */
export function capabilities(policies: readonly Policy[]): Capability[] {
  const admin = policies.some((p) => "admin" in p);
  const out: Capability[] = [];
  for (const resource of RESOURCES) {
    const accesses: Access[] = resource === "app" ? ["read", "deploy", "write"] : ["read", "write"];
    for (const access of accesses) {
      const names = admin
        ? ["*"]
        : policies.flatMap((p) =>
            "admin" in p || p.resource !== resource || !covers(p.access, access)
              ? []
              : [describeName(p)],
          );
      out.push({ resource, access, names: [...new Set(names)] });
    }
  }
  const apps = out.find((c) => c.resource === "app" && c.access === "deploy")!.names;
  out.push({ resource: "config values", access: "read", names: apps });
  for (const resource of ["tokens", "audit"] as const) {
    out.push({ resource, access: "read", names: admin ? ["*"] : [] });
    if (resource === "tokens") out.push({ resource, access: "write", names: admin ? ["*"] : [] });
  }
  return out;
}
