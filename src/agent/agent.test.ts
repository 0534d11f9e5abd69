import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../../test/helpers/api.js";
import { eventually } from "../../test/helpers/paas.js";
import { CatalogClient } from "../client/catalog.js";
import type { InstanceView } from "../model/service.js";
import { agentPolicies } from "../model/policies.js";
import { startAgent, type Agent } from "./agent.js";

let t: TestApi;
let cat: CatalogClient;
let agent: Agent;
const logs: string[] = [];

beforeAll(async () => {
  t = await startTestApi();
  cat = new CatalogClient(t.admin);
  const client = await t.clientWith(agentPolicies("box"), "agent-box");
  agent = startAgent({ client, nodeName: "box", ttl: 3, wait: "5s", log: (l) => logs.push(l) });
  await agent.joined;
});
afterAll(async () => {
  await agent?.stop();
  await t?.close();
});

const instance = async (service: string, id: string): Promise<InstanceView | undefined> =>
  (await cat.service(service)).value.find((i) => i.id === id);
const withStatus = (service: string, id: string, status: string) => async () => {
  const v = await instance(service, id);
  return v?.status === status ? v : undefined;
};

async function httpServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.end("ok"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port };
}

describe("agent", () => {
  it("joins its node with facts, on a lease it keeps alive", async () => {
    const node = (await cat.nodes()).find((n) => n.name === "box");
    expect(node?.facts.cpus).toBeGreaterThan(0);
    expect(node?.ttl).toBe(3);
    await new Promise((r) => setTimeout(r, 4000)); // longer than the TTL: heartbeats kept it
    expect((await cat.nodes()).some((n) => n.name === "box")).toBe(true);
  });

  it("runs an http check: passing while served, critical once the server is gone", async () => {
    const { server, port } = await httpServer();
    await cat.register({
      service: "api",
      id: "api-1",
      node: "box",
      address: "127.0.0.1",
      port,
      checks: [{ type: "http", path: "/", interval: "200ms", timeout: "150ms" }],
    });
    const up = await eventually("passing", withStatus("api", "api-1", "passing"));
    expect(up.checks[0]?.output).toMatch(/200 OK/);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    const down = await eventually("critical", withStatus("api", "api-1", "critical"));
    expect(down.checks[0]?.output).toMatch(/ECONNREFUSED/);
    expect((await cat.service("api", { passing: true })).value).toEqual([]);
  });

  it("leaves checks of other nodes alone", async () => {
    await cat.register({
      service: "elsewhere",
      node: "other",
      address: "127.0.0.1",
      port: 1,
      checks: [{ type: "tcp", interval: "200ms" }],
    });
    await new Promise((r) => setTimeout(r, 800));
    expect((await instance("elsewhere", "elsewhere"))?.checks[0]?.output).toBe("no result yet");
  });

  it("writes down an expired TTL and deregisters what stayed critical too long", async () => {
    await cat.register({
      service: "cron",
      node: "box",
      address: "127.0.0.1",
      port: 1,
      checks: [{ type: "ttl", ttl: "1s", deregisterAfter: "1500ms" }],
    });
    await cat.updateTtl("cron", "cron", "ttl", "pass");
    expect((await instance("cron", "cron"))?.status).toBe("passing");
    const expired = await eventually("ttl critical", async () => {
      const v = await instance("cron", "cron");
      return v?.checks[0]?.since !== undefined && v.status === "critical" ? v : undefined;
    });
    expect(expired.checks[0]?.output).toMatch(/TTL/);
    await eventually("deregistered", async () =>
      (await instance("cron", "cron")) === undefined ? true : undefined,
    );
    expect(logs.some((l) => l.includes("deregistering cron/cron"))).toBe(true);
  });

  it("leaves the platform when stopped", async () => {
    const client = await t.clientWith(agentPolicies("brief"), "agent-brief");
    const a = startAgent({ client, nodeName: "brief", log: () => undefined });
    await a.joined;
    expect((await cat.nodes()).some((n) => n.name === "brief")).toBe(true);
    await a.stop();
    expect((await cat.nodes()).some((n) => n.name === "brief")).toBe(false);
  });
});
