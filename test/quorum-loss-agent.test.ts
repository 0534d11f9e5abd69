/**
 * An agent through a quorum loss (static stability): a real three-member etcd cluster under a
 * real API server, an agent running a real instance. Two members killed for longer than the
 * node's TTL → the instance keeps running and serving, the agent neither rejoins nor stops
 * anything and says so once; one member back → its heartbeats work again on the same lease
 * (etcd extends leases when a new leader takes over) and the instance is still the same process.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type Agent } from "../src/agent/agent.js";
import { CatalogClient } from "../src/client/catalog.js";
import { agentPolicies } from "../src/model/policies.js";
import { openEtcdStore } from "../src/store/etcd/index.js";
import type { Store } from "../src/store/types.js";
import { assignment, instanceStatus, putAssignment, seedApp } from "./helpers/agent-fixture.js";
import { startTestApi, type TestApi } from "./helpers/api.js";
import { startEtcdCluster, type EtcdCluster } from "./helpers/etcd.js";
import { eventually } from "./helpers/paas.js";

const NODE = "qnode";
const APP = "hello";

let cluster: EtcdCluster;
let store: Store;
let t: TestApi;
let agent: Agent;
const agentDir = mkdtempSync(join(tmpdir(), "gantry-quorum-agent-"));
const logs: string[] = [];

beforeAll(async () => {
  cluster = await startEtcdCluster(3);
  store = await openEtcdStore({ endpoints: cluster.endpoints });
  t = await startTestApi({ store });
  const client = await t.clientWith(agentPolicies(NODE), `agent-${NODE}`);
  agent = startAgent({
    client,
    nodeName: NODE,
    dataDir: agentDir,
    ttl: 3,
    wait: "2s",
    log: (l) => logs.push(l),
    runner: { stopGraceMs: 1000, tickMs: 200 },
  });
  await agent.joined;
}, 60_000);

afterAll(async () => {
  await agent?.stop({ stopInstances: true });
  await t?.close();
  await store?.close();
  await cluster?.cleanup();
  rmSync(agentDir, { recursive: true, force: true });
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function hello(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
  return res.text();
}

describe("an agent without quorum", () => {
  it("keeps its instance running, does not rejoin, and carries on when quorum is back", async () => {
    const { artifact } = await seedApp(t, APP);
    const a = assignment(APP, NODE, artifact);
    await putAssignment(t, a);
    const running = await eventually("running", async () => {
      const s = await instanceStatus(t, a.id);
      return s?.state === "running" && s.port !== undefined ? s : undefined;
    });
    const cat = new CatalogClient(t.admin);
    const leaseBefore = (await cat.nodes()).find((n) => n.name === NODE)?.lease;
    expect(leaseBefore).toBeDefined();
    const joinedBefore = logs.filter((l) => l.includes("joined")).length;

    const victims = cluster.members.slice(0, 2);
    await Promise.all(victims.map((m) => m.kill()));
    // Longer than the node's TTL (3 s) and several heartbeats.
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      expect(alive(running.pid!)).toBe(true);
      expect(await hello(running.port!)).toMatch(/^hello hi/);
    }
    const during = logs.join("\n");
    expect(during).toContain("lost quorum");
    expect(logs.filter((l) => l.includes("heartbeats wait for it"))).toHaveLength(1);
    expect(during).not.toContain("cannot reach the control plane");
    expect(during).not.toMatch(/joining again|removed|stopping/);

    await victims[0]!.start();
    // Heartbeats go through again, on the same lease: the node never left.
    await eventually("heartbeats", async () => {
      const since = Date.now();
      const node = (await cat.nodes()).find((n) => n.name === NODE);
      return node !== undefined && Date.now() - since < 2000 ? node : undefined;
    });
    await new Promise((r) => setTimeout(r, 3000));
    const node = (await cat.nodes()).find((n) => n.name === NODE);
    expect(node?.lease).toBe(leaseBefore);
    expect(logs.filter((l) => l.includes("joined")).length).toBe(joinedBefore);
    const after = await instanceStatus(t, a.id);
    expect(after?.state).toBe("running");
    expect(after?.pid).toBe(running.pid);
    expect(await hello(running.port!)).toMatch(/^hello hi/);
    await victims[1]!.start();
  }, 90_000);
});
