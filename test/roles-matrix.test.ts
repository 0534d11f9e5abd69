/**
 * The role matrix: every route of the API (src/api/routes/index.ts) × every role, against a real
 * API server. Each route lists the roles it lets through (the deployer's app is "hello", the
 * app in every :app path); every other role must get 403, these must not. A route added
 * without a row fails the test.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newSecret } from "../src/api/tokens.js";
import { K } from "../src/model/keys.js";
import { rolePolicies, ROLES, type Role } from "../src/model/roles.js";
import { startTestApi, type TestApi } from "./helpers/api.js";

const LETTER: Record<Role, string> = { admin: "A", operator: "O", deployer: "D", viewer: "V" };

/** `METHOD path` → the roles allowed, by letter (A admin, O operator, D deployer, V viewer). */
const MATRIX: Record<string, string> = {
  "GET /v1/tokens": "A",
  "GET /v1/tokens/self": "AODV",
  "POST /v1/tokens": "A",
  "PUT /v1/tokens/:id": "A",
  "POST /v1/tokens/:id/rotate": "A",
  "DELETE /v1/tokens/:id": "A",
  "GET /v1/join-tokens": "A",
  "POST /v1/join-tokens": "A",
  "DELETE /v1/join-tokens/:id": "A",
  "GET /v1/audit": "A",
  "GET /v1/kv/*key": "AOV",
  "PUT /v1/kv/*key": "AO",
  "DELETE /v1/kv/*key": "AO",
  "POST /v1/txn": "AO",
  "POST /v1/sessions": "AO",
  "GET /v1/sessions": "AOV",
  "GET /v1/sessions/:id": "AOV",
  "PUT /v1/sessions/:id/renew": "AO",
  "DELETE /v1/sessions/:id": "AO",
  "GET /v1/watch/kv/*key": "AOV",
  // The dashboard's event stream: every topic the token may read (a deployer's: its app's).
  "GET /v1/events": "AODV",
  "PUT /v1/catalog/register": "AO",
  "DELETE /v1/catalog/deregister/:service/:id": "AO",
  "GET /v1/catalog/services": "AOV",
  "GET /v1/catalog/service/:name": "AOV",
  "GET /v1/catalog/node/:node": "AOV",
  "GET /v1/catalog/registrations": "AOV",
  "PUT /v1/catalog/registrations": "AO",
  "PUT /v1/health/:service/:id/:checkId": "AO",
  "PUT /v1/checks/:service/:id/:checkId/:action": "AO",
  "PUT /v1/nodes/:name": "AO",
  "PUT /v1/nodes/:name/heartbeat": "AO",
  "DELETE /v1/nodes/:name": "AO",
  "PUT /v1/nodes/:name/drain": "AO",
  "DELETE /v1/nodes/:name/drain": "AO",
  // The control plane's servers (gantry servers): whoever may read nodes.
  "GET /v1/cluster/servers": "AOV",
  // Lists answer everyone, filtered to what the token may read.
  "GET /v1/nodes": "AODV",
  "GET /v1/nodes/:name": "AOV",
  "POST /v1/apps": "AO",
  "GET /v1/apps": "AODV",
  "GET /v1/apps/:app": "AODV",
  "DELETE /v1/apps/:app": "AO",
  "PUT /v1/apps/:app/settings": "AO",
  "PUT /v1/apps/:app/formation": "AOD",
  "GET /v1/apps/:app/scaling": "AODV",
  "POST /v1/apps/:app/domains": "AO",
  "DELETE /v1/apps/:app/domains/:domain": "AO",
  "GET /v1/apps/:app/config": "AOD",
  "PUT /v1/apps/:app/config": "AOD",
  "GET /v1/apps/:app/releases": "AODV",
  "POST /v1/apps/:app/releases/rollback": "AOD",
  "POST /v1/apps/:app/releases/unpin": "AOD",
  "GET /v1/apps/:app/deploys/current": "AODV",
  "GET /v1/apps/:app/ps": "AODV",
  "GET /v1/apps/:app/ps/:id": "AODV",
  "POST /v1/apps/:app/run": "AOD",
  "POST /v1/apps/:app/logs": "AO",
  "GET /v1/apps/:app/logs": "AODV",
  "GET /v1/nodes/:node/assignments": "AO",
  "GET /v1/nodes/:node/assignments/:id/env": "AO",
  "PUT /v1/instances/:id": "AO",
  "DELETE /v1/instances/:id": "AO",
  "GET /v1/artifacts/:sha": "A",
  "POST /v1/apps/:app/builds": "AOD",
  "POST /v1/apps/:app/deploy": "AOD",
  "GET /v1/apps/:app/builds": "AODV",
  "GET /v1/apps/:app/builds/:id": "AODV",
  "GET /v1/apps/:app/builds/:id/log": "AODV",
  // Connected outside repos: connect/disconnect change the app (write), reading it is read.
  "POST /v1/apps/:app/connect": "AO",
  "GET /v1/apps/:app/connect": "AODV",
  "DELETE /v1/apps/:app/connect": "AO",
  "PUT /v1/states": "AO",
  "GET /v1/states": "AOV",
  "GET /v1/converge/nodes": "AODV",
  "GET /v1/nodes/:node/converge": "AOV",
  "PUT /v1/nodes/:node/converge": "AO",
  "DELETE /v1/nodes/:node/converge": "AO",
  "POST /v1/nodes/:node/converge/runs": "AO",
  "GET /v1/nodes/:node/converge/runs": "AOV",
  "GET /v1/converge/runs": "AODV",
  "GET /v1/stack/items": "AOV",
  "POST /v1/stack/items": "AO",
  "GET /v1/stack/items/:kind/*name": "AOV",
  "PUT /v1/stack/items/:kind/*name": "AO",
  "DELETE /v1/stack/items/:kind/*name": "AO",
  "GET /v1/stack/info": "AOV",
  "PUT /v1/stack/info": "AO",
  "GET /v1/stack/apps": "AOD",
  "POST /v1/stack/syncs": "AO",
  "PUT /v1/stack/source": "AO",
  "DELETE /v1/stack/source": "AO",
  "GET /v1/registry": "AODV",
  "GET /v1/registry/token": "AODV",
  "GET /v1/images": "AODV",
  "POST /v1/registry/prune": "A",
  "GET /v1/openapi.json": "AODV",
  "POST /v1/apps/:app/certs": "AO",
  "GET /v1/certs": "AODV",
  "DELETE /v1/apps/:app/certs": "AO",
  "GET /v1/acme/http01/:token": "AOV",
  "PUT /v1/apps/:app/acme": "AO",
  "GET /v1/certs/bundle": "AO",
  // Node pools: operators change them, viewers read them (the `pool` resource).
  "GET /v1/pools": "AODV",
  "GET /v1/pools/:name": "AOV",
  "PUT /v1/pools/:name": "AO",
  "DELETE /v1/pools/:name": "AO",
  "POST /v1/pools/:name/scale": "AO",
  "POST /v1/pools/:name/replace": "AO",
  "GET /v1/address-plan": "AOV",
  "PUT /v1/address-plan": "AO",
  "DELETE /v1/address-plan": "AO",
  // Scheduled jobs: resource app, read to list, write to change.
  "GET /v1/cron": "AODV",
  "GET /v1/apps/:app/cron": "AODV",
  "POST /v1/apps/:app/cron": "AO",
  "DELETE /v1/apps/:app/cron/:id": "AO",
  "GET /v1/apps/:app/cron/:id/runs": "AODV",
  // Pipelines: resource app. Changing one needs write on every stage app (the body names
  // hello and hello-2); the others name no pipeline that exists here, so everyone gets 404.
  "POST /v1/pipelines": "AO",
  "GET /v1/pipelines": "AODV",
  "GET /v1/pipelines/:name": "AODV",
  "PUT /v1/pipelines/:name": "AODV",
  "DELETE /v1/pipelines/:name": "AODV",
  // Promote reads the source (hello); deploy on the target is checked once it is known.
  "POST /v1/apps/:app/promote": "AODV",
  "POST /v1/apps/:app/reviews": "AOD",
  "DELETE /v1/apps/:app/reviews": "AOD",
  "GET /v1/apps/:app/reviews": "AODV",
  // Notifications: resource app, read to list, write to change (a deployer cannot add a URL
  // that would receive the app's events); pipeline hooks name no pipeline that exists here.
  "GET /v1/apps/:app/notifications": "AODV",
  "POST /v1/apps/:app/notifications": "AO",
  "DELETE /v1/apps/:app/notifications/:id": "AO",
  "POST /v1/apps/:app/notifications/:id/test": "AO",
  "GET /v1/pipelines/:name/notifications": "AODV",
  "POST /v1/pipelines/:name/notifications": "AODV",
  "DELETE /v1/pipelines/:name/notifications/:id": "AODV",
  "POST /v1/pipelines/:name/notifications/:id/test": "AODV",
  // The dashboard's login: any token may make a link for itself (the session acts as it).
  "POST /v1/ui/links": "AODV",
  "GET /v1/ui/session": "AODV",
  "POST /v1/ui/logout": "AODV",
};

const INSTANCE = "hello-web-1";

/** Bodies for routes whose check depends on what the body names (others get `{}`). */
const BODY: Record<string, unknown> = {
  "POST /v1/txn": { success: [{ type: "put", key: "app/k", value: "v" }] },
  "PUT /v1/catalog/register": { service: "web", node: "node-a", address: "127.0.0.1", port: 80 },
  "PUT /v1/catalog/registrations": [
    { service: "web", node: "node-a", address: "127.0.0.1", port: 80 },
  ],
  "POST /v1/apps": { name: "hello" },
  "PUT /v1/instances/:id": {
    id: INSTANCE,
    app: "hello",
    release: 1,
    processType: "web",
    index: 1,
    node: "node-a",
    state: "running",
    restarts: 0,
    lastOutput: [],
    updatedAt: new Date(0).toISOString(),
  },
  "POST /v1/stack/items": { delete: [{ kind: "app", name: "x" }] },
  "POST /v1/pipelines": {
    name: "p",
    stages: [
      { name: "staging", app: "hello" },
      { name: "production", app: "hello-2" },
    ],
  },
};

const PARAMS: Record<string, string> = {
  app: "hello",
  node: "node-a",
  name: "node-a",
  id: "x1",
  service: "web",
  checkId: "c1",
  action: "pass",
  domain: "hello.example.com",
  sha: "a".repeat(64),
  kind: "app",
};

/** A concrete target for a route pattern (and the query some routes need). */
function target(path: string, session: string): string {
  const id = path.startsWith("/v1/sessions/")
    ? session
    : path.startsWith("/v1/instances/")
      ? INSTANCE
      : PARAMS["id"]!;
  const concrete = path
    .split("/")
    .map((seg) => {
      if (seg === ":id") return id;
      if (seg.startsWith(":")) return PARAMS[seg.slice(1)] ?? "x";
      if (seg.startsWith("*")) return "app/k";
      return seg;
    })
    .join("/");
  return path === "/v1/stack/apps" ? `${concrete}?names=hello` : concrete;
}

let t: TestApi;
const secrets = {} as Record<Role, string>;

beforeAll(async () => {
  t = await startTestApi();
  for (const role of ROLES) {
    secrets[role] = newSecret();
    const apps = role === "deployer" ? ["hello"] : [];
    await t.api.deps.tokens.create(
      `role-${role}`,
      rolePolicies(role, apps),
      "test",
      secrets[role],
      undefined,
      { role },
    );
  }
});
afterAll(async () => t?.close());

/** The status a role's request gets; 0 when no answer came within 3 s (a failure). */
async function statusOf(role: Role, method: string, url: string, body: unknown): Promise<number> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 3000);
  try {
    const res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${secrets[role]}`, "content-type": "application/json" },
      ...(method === "PUT" || method === "POST" ? { body: JSON.stringify(body) } : {}),
      signal: ctl.signal,
    });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  } finally {
    clearTimeout(timer);
  }
}

describe("the role matrix", () => {
  it("has a row for every protected route, and no row for a route that is gone", () => {
    const protectedRoutes = t.api.routes
      .filter((r) => !r.public)
      .map((r) => `${r.method} ${r.path}`);
    expect(protectedRoutes.filter((k) => MATRIX[k] === undefined)).toEqual([]);
    expect(Object.keys(MATRIX).filter((k) => !protectedRoutes.includes(k))).toEqual([]);
  });

  it("answers 403 exactly where the matrix says, for every route × role", async () => {
    const wrong: string[] = [];
    for (const r of t.api.routes.filter((x) => !x.public)) {
      const key = `${r.method} ${r.path}`;
      for (const role of ROLES) {
        // A session of the admin's, made anew for each request (a DELETE ends it).
        const session = r.path.startsWith("/v1/sessions/:id")
          ? (
              (await (
                await fetch(`${t.url}/v1/sessions`, {
                  method: "POST",
                  headers: { authorization: `Bearer ${t.adminToken}` },
                  body: JSON.stringify({ name: "matrix" }),
                })
              ).json()) as { id: string }
            ).id
          : "";
        const url = t.url + target(r.path, session);
        // The instance a DELETE names decides whose it is: one on node-a, made anew each time.
        await t.store.put(`${K.instances}${INSTANCE}`, JSON.stringify({ node: "node-a" }));
        const status = await statusOf(role, r.method, url, BODY[key] ?? {});
        const allowed = MATRIX[key]!.includes(LETTER[role]);
        if (status === 0 || status === 401 || (status === 403) === allowed)
          wrong.push(`${key} as ${role}: ${status}, expected ${allowed ? "allowed" : "403"}`);
      }
    }
    expect(wrong).toEqual([]);
  }, 120_000);

  it("a deployer of hello gets 403 on every route of another app, hello-2 included", async () => {
    const wrong: string[] = [];
    const appRoutes = t.api.routes.filter((r) => r.path.startsWith("/v1/apps/:app"));
    expect(appRoutes.length).toBeGreaterThan(20);
    for (const r of appRoutes) {
      const key = `${r.method} ${r.path}`;
      const url = t.url + target(r.path, "").replace("/v1/apps/hello", "/v1/apps/hello-2");
      const status = await statusOf("deployer", r.method, url, BODY[key] ?? {});
      if (status !== 403) wrong.push(`${key} on hello-2: ${status}`);
    }
    expect(wrong).toEqual([]);
  }, 60_000);
});
