import { AppNameSchema } from "../model/app.js";
import { allows, isAdmin, type Access, type Policy } from "../model/token.js";
import type { ResourceActions } from "./jwt.js";

/**
 * Which Gantry policy covers a repository: `<app>` is the app's (resource `app`, name the app),
 * `images/<name>` a baked node image (resource `stack`, name `images/<name>`: node images are
 * part of the stack, so `stack:images/:write` lets a CI bake and push them). Any other name is
 * no one's but an admin's.
 */
export function repositoryPolicy(
  repo: string,
): { resource: "app" | "stack"; name: string } | undefined {
  if (AppNameSchema.safeParse(repo).success) return { resource: "app", name: repo };
  if (/^images\/[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(repo)) return { resource: "stack", name: repo };
  return undefined;
}

/** `repository:web:pull,push` → its parts; undefined when it is not `TYPE:NAME:ACTIONS`. */
export function parseScope(scope: string): ResourceActions | undefined {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first <= 0 || last === first) return undefined;
  const name = scope.slice(first + 1, last);
  if (name === "") return undefined;
  const actions = scope
    .slice(last + 1)
    .split(",")
    .filter((a) => a !== "");
  return { type: scope.slice(0, first), name, actions };
}

/** A node's agent (its token has write on a node) may pull every image: it runs them. */
const isNodeToken = (policies: readonly Policy[]): boolean =>
  policies.some((p) => !("admin" in p) && p.resource === "node" && p.access === "write");

/** The actions on `repo` these policies grant, of those asked for. */
function repositoryActions(policies: readonly Policy[], repo: string, asked: string[]): string[] {
  const admin = isAdmin(policies);
  const owner = repositoryPolicy(repo);
  const can = (access: Access): boolean =>
    admin || (owner !== undefined && allows(policies, owner.resource, owner.name, access));
  return asked.filter((a) => {
    if (a === "pull") return can("read") || isNodeToken(policies);
    // Pushing an app's image is deploying it (a deployer's CI may); a node image takes stack write.
    if (a === "push") return can(owner?.resource === "app" ? "deploy" : "write");
    // Deleting manifests is retention's job (Gantry's own token) or an admin's.
    return admin && (a === "delete" || a === "*");
  });
}

/**
 * What a registry token for these policies holds, for the scopes asked: each scope keeps only
 * the actions granted (maybe none — the registry then answers 401/403 as `docker push` users
 * expect, rather than our endpoint refusing the login). `registry:catalog:*` is an admin's.
 */
export function grantScopes(policies: readonly Policy[], scopes: string[]): ResourceActions[] {
  const out: ResourceActions[] = [];
  for (const raw of scopes) {
    for (const part of raw.split(" ")) {
      const s = parseScope(part);
      if (s === undefined) continue;
      let actions: string[] = [];
      if (s.type === "repository") actions = repositoryActions(policies, s.name, s.actions);
      else if (s.type === "registry" && s.name === "catalog" && isAdmin(policies))
        actions = s.actions.filter((a) => a === "*");
      out.push({ type: s.type, name: s.name, actions: [...new Set(actions)] });
    }
  }
  return out;
}
