import * as z from "zod";
import { ValidationError } from "../errors.js";
import { covers, granted, isAdmin, RESOURCES, type Access, type Resource } from "./policy-match.js";

// The matching rule lives in policy-match.ts (zod-free, shared with the dashboard).
export { covers, isAdmin, RESOURCES, type Access, type Resource };

/**
 * A policy grants read or write on names under a prefix of one resource, or everything (`admin`).
 * With `exact`, the prefix is a whole name ("hello" grants app hello, not hello-2: roles use it).
 * Managing tokens and reading the audit log take `admin`.
 */
export const PolicySchema = z
  .union([
    z.strictObject({ admin: z.literal(true) }),
    z.strictObject({
      resource: z.enum(RESOURCES),
      prefix: z.string().max(1024),
      access: z.enum(["read", "deploy", "write"]),
      exact: z.literal(true).optional(),
    }),
  ])
  .refine((p) => "admin" in p || p.access !== "deploy" || p.resource === "app", {
    message: "deploy access is for the app resource only",
    path: ["access"],
  });
export type Policy = z.infer<typeof PolicySchema>;

export const TokenNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.@-]*$/,
    "letters, digits, and _ . @ - (starting with a letter or digit)",
  );

/** What is stored for a token: never the secret itself, only its SHA-256. */
export const TokenRecordSchema = z.strictObject({
  id: z.string(),
  name: TokenNameSchema,
  secretHash: z.string().regex(/^[0-9a-f]{64}$/),
  policies: z.array(PolicySchema).min(1),
  createdAt: z.string(),
  createdBy: z.string(),
  /** The role it was made with (src/model/roles.ts) and the apps a deployer may change. */
  role: z.string().optional(),
  apps: z.array(z.string()).optional(),
  /** When it stops working (ISO time); absent: never. */
  expiresAt: z.string().optional(),
});
export type TokenRecord = z.infer<typeof TokenRecordSchema>;

/**
 * Parse the CLI's policy syntax: `admin`, or `RESOURCE:PREFIX:read|deploy|write` (prefix may be empty;
 * `=NAME` for one whole name).
 */
export function parsePolicy(text: string, field = "policy"): Policy {
  if (text === "admin") return { admin: true };
  const first = text.indexOf(":");
  const last = text.lastIndexOf(":");
  if (first < 0 || first === last) {
    throw new ValidationError(
      `"${text}" is not admin or RESOURCE:PREFIX:ACCESS (e.g. kv:app/:write)`,
      field,
    );
  }
  const resource = text.slice(0, first);
  const prefix = text.slice(first + 1, last);
  const access = text.slice(last + 1);
  if (!(RESOURCES as readonly string[]).includes(resource)) {
    throw new ValidationError(
      `unknown resource "${resource}" in "${text}"; use one of ${RESOURCES.join(", ")}`,
      field,
    );
  }
  if (access !== "read" && access !== "write" && access !== "deploy") {
    throw new ValidationError(`access must be read, deploy or write in "${text}"`, field);
  }
  if (access === "deploy" && resource !== "app") {
    throw new ValidationError(
      `deploy access is for apps only (app:NAME:deploy), in "${text}"`,
      field,
    );
  }
  if (prefix.startsWith("=")) {
    return { resource: resource as Resource, prefix: prefix.slice(1), access, exact: true };
  }
  return { resource: resource as Resource, prefix, access };
}

/** Format a policy back into the CLI syntax. */
export function formatPolicy(p: Policy): string {
  if ("admin" in p) return "admin";
  return `${p.resource}:${p.exact === true ? "=" : ""}${p.prefix}:${p.access}`;
}

/** Whether the policies allow `access` on `name` of `resource` (write implies deploy implies read). */
export function allows(
  policies: readonly Policy[],
  resource: Resource,
  name: string,
  access: Access,
): boolean {
  return granted(policies, resource, access, name);
}

/**
 * Whether the policies allow `access` on every name under `prefix` (for recursive reads and
 * deletes): some policy's prefix is a prefix of it, exactly the test `allows` makes on a name.
 */
export function allowsPrefix(
  policies: readonly Policy[],
  resource: Resource,
  prefix: string,
  access: Access,
): boolean {
  return granted(policies, resource, access, prefix);
}

/**
 * Whether a recursive read of `prefix` may return anything: the token may read some names under
 * it. Entries it may not read are then filtered out of the answer (as Consul does).
 */
export function canReadUnder(policies: readonly Policy[], prefix: string): boolean {
  return policies.some(
    (p) =>
      "admin" in p ||
      (p.resource === "kv" && (p.prefix.startsWith(prefix) || prefix.startsWith(p.prefix))),
  );
}

/** One line of the audit log (`audit/…`): who did what to what, when. */
export interface AuditEntry {
  time: string;
  token: string;
  tokenId: string;
  action: string;
  target: string;
  /** Its key after `sys/audit/` (GET /v1/audit adds it): `?before=ID` pages to older ones. */
  id?: string;
}
