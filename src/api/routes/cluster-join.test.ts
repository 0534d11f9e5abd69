import { mkdirSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { errorOf, startTestApi } from "../../../test/helpers/api.js";
import { GantryClient } from "../../client/client.js";
import { parseJoinToken } from "../../model/join-token.js";
import { ensureClusterCa } from "../../tls/ca.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const api = await startTestApi();
  cleanups.push(() => api.close());
  mkdirSync(api.dataDir, { recursive: true });
  await ensureClusterCa(api.dataDir);
  const anon = new GantryClient({ addr: api.url });
  return { api, anon };
}

describe("server join tokens", () => {
  it("are made with server: true (no labels, not also for routers) and listed with their kind", async () => {
    const { api } = await setup();
    const t = await api.admin.json<{ token: string; kind: string }>("POST", "/v1/join-tokens", {
      body: { server: true, uses: 1 },
    });
    expect(t.kind).toBe("server");
    const list = await api.admin.json<{ kind?: string }[]>("GET", "/v1/join-tokens");
    expect(list.map((x) => x.kind)).toEqual(["server"]);
    const both = await errorOf(
      api.admin.json("POST", "/v1/join-tokens", { body: { server: true, router: true } }),
    );
    expect(both.status).toBe(400);
    const labelled = await errorOf(
      api.admin.json("POST", "/v1/join-tokens", { body: { server: true, labels: { a: "b" } } }),
    );
    expect(labelled.status).toBe(400);
    expect(labelled.message).toMatch(/labels are for nodes/);
  });

  it("an agent or a router may not join with one, and is told what to make instead", async () => {
    const { api, anon } = await setup();
    const t = await api.admin.json<{ token: string }>("POST", "/v1/join-tokens", {
      body: { server: true },
    });
    const p = parseJoinToken(t.token)!;
    const agent = await errorOf(
      anon.json("POST", "/v1/join", { body: { id: p.id, secret: p.secret, nodeName: "n1" } }),
    );
    expect(agent.status).toBe(403);
    expect(agent.message).toBe(
      `join token ${p.id} is for servers (gantry server --join), not agents: make an agent join token with gantry join-tokens create`,
    );
    const router = await errorOf(
      anon.json("POST", "/v1/join", { body: { id: p.id, secret: p.secret, routerName: "r1" } }),
    );
    expect(router.message).toMatch(/is for servers .*gantry join-tokens create --router$/);
  });
});

describe("POST /v1/cluster/join", () => {
  it("answers over HTTPS only (the answer carries the CA key); a bad body names its field", async () => {
    const { api, anon } = await setup();
    const t = await api.admin.json<{ token: string }>("POST", "/v1/join-tokens", {
      body: { server: true },
    });
    const p = parseJoinToken(t.token)!;
    const body = { id: p.id, secret: p.secret, name: "s2", peerUrl: "http://127.0.0.1:2390" };
    const plain = await errorOf(anon.json("POST", "/v1/cluster/join", { body }));
    expect(plain.status).toBe(409);
    expect(plain.code).toBe("no_tls");
    const bad = await errorOf(
      anon.json("POST", "/v1/cluster/join", { body: { ...body, peerUrl: "127.0.0.1:2390" } }),
    );
    expect(bad.status).toBe(400);
    expect(bad.field).toBe("peerUrl");
    const name = await errorOf(
      anon.json("POST", "/v1/cluster/join", { body: { ...body, name: "-x" } }),
    );
    expect(name.field).toBe("name");
  });
});
