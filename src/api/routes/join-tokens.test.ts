import { mkdirSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { errorOf, startTestApi } from "../../../test/helpers/api.js";
import { CatalogClient } from "../../client/catalog.js";
import { GantryClient } from "../../client/client.js";
import { parseJoinToken } from "../../model/join-token.js";
import { routerPolicies } from "../../model/policies.js";
import { ensureClusterCa } from "../../tls/ca.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const facts = { hostname: "n1", cpus: 1, memory: 1 << 30, addresses: ["127.0.0.1"] };

async function setup() {
  const api = await startTestApi();
  cleanups.push(() => api.close());
  mkdirSync(api.dataDir, { recursive: true });
  await ensureClusterCa(api.dataDir);
  const create = async (body: object) => {
    const t = await api.admin.json<{ token: string; used: number }>("POST", "/v1/join-tokens", {
      body,
    });
    return parseJoinToken(t.token)!;
  };
  const join = (body: object) =>
    new GantryClient({ addr: api.url }).json<{ name: string; secret: string }>("POST", "/v1/join", {
      body,
    });
  const usedOf = async (id: string): Promise<number> =>
    (await api.admin.json<{ id: string; used: number }[]>("GET", "/v1/join-tokens")).find(
      (t) => t.id === id,
    )!.used;
  return { api, create, join, usedOf };
}

describe("POST /v1/join", () => {
  it("a router join token gives a router token (app, service and cert read, nothing else); an agent may not use it, nor a router a node's", async () => {
    const { api, create, join, usedOf } = await setup();
    const r = await create({ router: true, uses: 2 });
    const wrong = await errorOf(join({ id: r.id, secret: r.secret, nodeName: "n1" }));
    expect(wrong.status).toBe(403);
    expect(wrong.message).toMatch(/is for routers .*gantry join-tokens create$/);
    expect(await usedOf(r.id)).toBe(0);

    const got = await join({ id: r.id, secret: r.secret, routerName: "edge-1" });
    expect(got.name).toBe("router-edge-1");
    expect(api.api.deps.tokens.authenticate(got.secret)!.policies).toEqual(routerPolicies);
    const router = new GantryClient({ addr: api.url, token: got.secret });
    expect((await router.request("GET", "/v1/certs/bundle")).status).toBe(200);
    expect((await errorOf(router.json("GET", "/v1/nodes/n1"))).status).toBe(403);

    const n = await create({});
    const refused = await errorOf(join({ id: n.id, secret: n.secret, routerName: "edge-2" }));
    expect(refused.message).toMatch(/is for agents .*gantry join-tokens create --router$/);
    expect(await usedOf(n.id)).toBe(0);
    const both = await errorOf(
      join({ id: n.id, secret: n.secret, routerName: "edge-2", nodeName: "n1" }),
    );
    expect(both.status).toBe(400);
  });

  it("a node joined with a labelled join token carries its labels in its node record", async () => {
    const { api, create, join } = await setup();
    const t = await create({ labels: { zone: "a", tier: "web" } });
    const got = await join({ id: t.id, secret: t.secret, nodeName: "n1" });
    const node = new CatalogClient(new GantryClient({ addr: api.url, token: got.secret }));
    await node.joinNode("n1", facts, 300);
    const list = await new CatalogClient(api.admin).nodeList();
    expect(list).toEqual([
      expect.objectContaining({ name: "n1", labels: { zone: "a", tier: "web" } }),
    ]);
    // Its agent's converge runs see them as facts.labels (settings set for converge win).
    const nodeClient = new GantryClient({ addr: api.url, token: got.secret });
    const view = await nodeClient.json<{ labels: Record<string, string> }>(
      "GET",
      "/v1/nodes/n1/converge",
    );
    expect(view.labels).toEqual({ zone: "a", tier: "web" });
    await api.admin.json("PUT", "/v1/nodes/n1/converge", { body: { labels: { zone: "b" } } });
    expect(
      (await nodeClient.json<{ labels: object }>("GET", "/v1/nodes/n1/converge")).labels,
    ).toEqual({ zone: "b", tier: "web" });
    // A node joined without labels has none.
    const plain = await create({});
    const other = await join({ id: plain.id, secret: plain.secret, nodeName: "n2" });
    await new CatalogClient(new GantryClient({ addr: api.url, token: other.secret })).joinNode(
      "n2",
      facts,
      300,
    );
    const n2 = (await new CatalogClient(api.admin).nodeList()).find((n) => n.name === "n2")!;
    expect("labels" in n2).toBe(false);
  });
});
