/**
 * The pool controller over a real embedded store and the memory provider (pools-test-world.ts):
 * making a pool's nodes, their settings in place, repairs and the maxUnhealthy halt. Scaling down,
 * replacement, deletion and leader changes are in pools-lifecycle.test.ts.
 */
import { describe, expect, it } from "vitest";
import { K } from "../model/keys.js";
import { text } from "../store/index.js";
import { poolsWorld } from "./pools-test-world.js";

const w = poolsWorld();
const { start, putPool, status, until, ready, ids } = w;

describe("pool controller (memory provider, real store)", () => {
  it("creates the pool's nodes with their addresses, labels and converge settings; all become ready", async () => {
    await putPool({ labels: { tier: "front" }, vars: { a: 1 } });
    start();
    const s = await until("3 ready", ready(3));
    expect(s.nodes.map((n) => `${n.name} ${n.address} ${n.phase}`)).toEqual([
      "web-1 10.100.6.1 ready",
      "web-2 10.100.6.2 ready",
      "web-3 10.100.6.3 ready",
    ]);
    expect(s).toMatchObject({ desired: 3, joining: 0, unhealthy: 0 });
    const labels = await w.store.get(K.nodeLabels + "web-2");
    expect(JSON.parse(text(labels!.value))).toEqual({
      tier: "front",
      pool: "web",
      address: "10.100.6.2",
    });
    const converge = await w.store.get(K.convergeNodes + "web-2");
    expect(JSON.parse(text(converge!.value))).toEqual({
      roles: [],
      vars: { a: 1 },
      labels: { tier: "front", pool: "web", address: "10.100.6.2" },
    });
    expect(w.asked.map((a) => a.name).sort()).toEqual(["web-1", "web-2", "web-3"]);
    expect(w.asked.find((a) => a.name === "web-3")?.labels).toMatchObject({
      address: "10.100.6.3",
    });
  });

  it("gives its nodes new roles, vars and labels in place when the pool's change", async () => {
    await putPool({ size: 2, vars: { a: 1 } });
    start();
    await until("2 ready", ready(2));
    const ids = (): string[] => [...w.machines.nodes.values()].map((n) => n.providerId).sort();
    const made = ids();
    await putPool({ size: 2, roles: ["web"], vars: { a: 2 }, labels: { tier: "back" } });
    const settings = async (): Promise<unknown> => {
      const kv = await w.store.get(K.convergeNodes + "web-1");
      return kv === undefined ? undefined : JSON.parse(text(kv.value));
    };
    const want = {
      roles: ["web"],
      vars: { a: 2 },
      labels: { tier: "back", pool: "web", address: "10.100.6.1" },
    };
    await until("web-1's new settings", async () =>
      JSON.stringify(await settings()) === JSON.stringify(want) ? true : undefined,
    );
    // In place: no machine was made again.
    expect(ids()).toEqual(made);
  });

  it("repairs a stopped machine under the same name and address, and revokes its old credentials", async () => {
    await putPool({});
    start();
    await until("3 ready", ready(3));
    const before = ids();
    w.machines.crash("web-2");
    await until("web-2 replaced", async () => {
      const s = await status();
      return ids()["web-2"] !== before["web-2"] && s?.ready === 3 ? s : undefined;
    });
    expect(ids()["web-1"]).toBe(before["web-1"]);
    expect(ids()["web-3"]).toBe(before["web-3"]);
    expect(w.machines.nodes.get("web-2")?.address).toBe("10.100.6.2");
    expect(w.forgotten).toEqual(["web-2"]);
    expect((await status())?.lastEvent?.message).toMatch(/^created web-2 \(10\.100\.6\.2\) again/);
  });

  it("repairs a node whose agent is silent only after repairAfter", async () => {
    await putPool({ repairAfter: "1s" });
    start();
    await until("3 ready", ready(3));
    const before = ids();
    const t0 = Date.now();
    w.agents.silenced.add(before["web-3"]!);
    await until("web-3 down", async () => (await status())?.nodes[2]?.phase === "down");
    await until("web-3 replaced", async () => ids()["web-3"] !== before["web-3"]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    await until("3 ready", ready(3));
  });

  it("does not repair above maxUnhealthy, and says why", async () => {
    await putPool({ maxUnhealthy: 1 });
    start();
    await until("3 ready", ready(3));
    const before = ids();
    w.machines.crash("web-1");
    w.machines.crash("web-2");
    const s = await until("halted", async () => (await status())?.halted);
    expect(s).toBe(
      "2 of 3 nodes unhealthy (more than maxUnhealthy 1): not repairing — a network partition must not destroy the fleet",
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(ids()).toEqual(before);
    expect([...w.machines.nodes.values()].map((m) => m.state)).toEqual([
      "stopped",
      "stopped",
      "running",
    ]);
  });
});
