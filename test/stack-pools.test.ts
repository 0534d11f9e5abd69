/**
 * `addressPlan:` and `pools:` applied through the stack engine against a real API and store
 * in-process: plan → apply → plan is empty; a size change is a one-field update; a provider
 * change is an ordinary update whose plan says the nodes are replaced one at a time; a size set
 * by hand stays; removing the pool (with prune) asks the server to remove it and waits until the
 * record is gone. No pool controller runs here: the test plays its last step (deleting the
 * record of a pool being removed), and the wait's bound and the stack lock's signal are shown.
 */
import { describe, expect, it } from "vitest";
import { PoolsClient } from "../src/client/pools.js";
import { K } from "../src/model/keys.js";
import { applyPlan } from "../src/spec/apply.js";
import { destroyPool, PoolRemovalTimeoutError } from "../src/spec/kinds/pools.js";
import { planStack } from "../src/spec/live.js";
import { planText } from "../src/spec/render.js";
import { stackApi } from "./helpers/stack-api.js";

const s = stackApi();
const { registry, progress, ctx } = s;

const stackText = (pool: string, prune = false) => `stack: { name: pools, prune: ${prune} }
addressPlan:
  pattern: "10.{location}.{type}.{instance}"
  locations: { nz-por-1: 100 }
  types: { web: 6, db: 8 }
${pool === "" ? "" : `pools:\n  web: ${pool}\n`}`;

const plan = async (text: string) => (await planStack(ctx(), registry, s.parse(text))).plan;

async function apply(text: string) {
  const stack = s.parse(text);
  const { plan: p, snapshot } = await planStack(ctx(), registry, stack);
  return { plan: p, result: await applyPlan(ctx(), registry, p, snapshot) };
}

const WEB =
  "{ provider: local, size: 3, max: 6, location: nz-por-1, type: web, roles: [web], waitForReady: 0s }";

describe("pools in gantry.yaml, applied", () => {
  it("creates the plan and the pool, then plans nothing", async () => {
    const first = await apply(stackText(WEB));
    expect(first.plan.changes.map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual([
      "create address-plan addressPlan",
      "create pool web",
    ]);
    expect(first.result).toEqual({ created: 2, updated: 0, replaced: 0, destroyed: 0 });
    expect(progress).toContain("pool web: 3 nodes (local) on 10.100.6.{instance}");
    const pool = await new PoolsClient(s.t.admin).get("web");
    expect(pool).toMatchObject({
      spec: { size: 3, roles: ["web"] },
      addressPattern: "10.100.6.{instance}",
    });
    const again = await plan(stackText(WEB));
    expect(planText(again)).toEqual(["No changes: the platform matches the spec."]);
  });

  it("plans a size change as a one-field update", async () => {
    const text = stackText(WEB.replace("size: 3", "size: 4"));
    const p = await plan(text);
    expect(p.changes.filter((c) => c.action !== "no-op")).toEqual([
      expect.objectContaining({
        action: "update",
        kind: "pool",
        name: "web",
        fields: [{ path: "size", old: 3, new: 4 }],
      }),
    ]);
    expect((await apply(text)).result.updated).toBe(1);
    expect((await new PoolsClient(s.t.admin).get("web"))?.spec.size).toBe(4);
  });

  it("keeps a size set by hand while the spec's size is unchanged, saying so", async () => {
    await new PoolsClient(s.t.admin).scale("web", 5);
    const text = stackText(WEB.replace("size: 3", "size: 4"));
    const p = await plan(text);
    expect(p.summary.update).toBe(0);
    expect(planText(p)).toEqual([
      "    pool web  (nothing to apply)",
      '      scaledTo: "scaled by hand to 5; apply keeps it until size changes" (not applied)',
      "",
      "No changes: the platform matches the spec.",
    ]);
  });

  it("plans a provider change as an update that replaces the nodes one at a time", async () => {
    const before = await new PoolsClient(s.t.admin).get("web");
    const text = stackText(WEB.replace("size: 3", "size: 4").replace("local", "docker"));
    const p = await plan(text);
    const change = p.changes.find((c) => c.name === "web")!;
    expect(change.action).toBe("update");
    expect(planText(p)).toEqual(
      expect.arrayContaining([
        "  ~ pool web",
        '      provider: "local" → "docker"',
        '      rolling: "replaces 5 nodes one at a time (new node settings)" (not applied)',
      ]),
    );
    await apply(text);
    const after = await new PoolsClient(s.t.admin).get("web");
    expect(after?.spec.provider).toBe("docker");
    expect(after?.settingsHash).not.toBe(before?.settingsHash);
    expect(after?.scaledTo).toBe(5); // the size was not changed: the hand-set one stays
  });

  it("removes a pool gone from the spec (prune) once the controller has deleted its record", async () => {
    const text = stackText("", true);
    const p = await plan(text);
    expect(p.changes.map((c) => `${c.action} ${c.kind} ${c.name}`)).toContain("destroy pool web");
    // The controller's part: drain and destroy the nodes (none here), then delete the record.
    const controller = playController("web");
    progress.length = 0;
    const { result } = await apply(text);
    await controller;
    expect(result.destroyed).toBe(1);
    expect(progress.at(-1)).toBe("pool web: removed");
    expect(await new PoolsClient(s.t.admin).get("web")).toBeUndefined();
    expect(await plan(text).then(planText)).toEqual(["No changes: the platform matches the spec."]);
  });

  it("stops waiting after its bound, or when the stack lock is lost", async () => {
    const pools = new PoolsClient(s.t.admin);
    await pools.put("db", { ...(await specOf(WEB)), type: "db" });
    const err = await destroyPool(ctx(), "db", { timeoutMs: 300, pollMs: 50 }).catch((e) => e);
    expect(err).toBeInstanceOf(PoolRemovalTimeoutError);
    expect((err as Error).message).toMatch(
      /^pool db is still being removed after 0s \(waiting for the pool controller\); the pool controller carries on/,
    );
    expect((await pools.get("db"))?.deletedAt).toBeDefined();

    const lock = new AbortController();
    const started = Date.now();
    const waiting = destroyPool(ctx(lock.signal), "db", { pollMs: 50 }).catch((e) => e);
    setTimeout(() => lock.abort(new Error("the stack lock was lost")), 200);
    expect(((await waiting) as Error).message).toBe("the stack lock was lost");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("removes the address plan gone from the spec only once no pool uses it", async () => {
    const empty = "stack: { name: pools, prune: true }\n";
    const stack = s.parse(empty);
    const { plan: p, snapshot } = await planStack(ctx(), registry, stack);
    expect(p.changes.map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual([
      "destroy address-plan addressPlan",
    ]);
    // Pool db (above) is still being removed: the server refuses, and the apply says so.
    const refused = await applyPlan(ctx(), registry, p, snapshot, { allowEmpty: true }).catch(
      (e: unknown) => e,
    );
    expect((refused as Error).message).toMatch(
      /^destroy of address-plan addressPlan failed: the address plan is in use by pool db: remove it first/,
    );
    await playController("db");
    const again = await planStack(ctx(), registry, stack);
    await applyPlan(ctx(), registry, again.plan, again.snapshot, { allowEmpty: true });
    expect(await new PoolsClient(s.t.admin).addressPlan()).toBeUndefined();
  });
});

/** The spec the loader makes of a pool written as in gantry.yaml. */
async function specOf(pool: string) {
  const stack = s.parse(stackText(pool));
  return stack.items.find((i) => i.kind === "pool")!.spec as Parameters<PoolsClient["put"]>[1];
}

/** Wait until `pool` is marked for removal, then delete its record, as the pool controller does. */
async function playController(pool: string): Promise<void> {
  const key = K.poolSpecs + pool;
  for (let i = 0; i < 200; i++) {
    const kv = await s.t.store.get(key);
    if (
      kv !== undefined &&
      (JSON.parse(Buffer.from(kv.value).toString()) as { deletedAt?: string }).deletedAt
    ) {
      await s.t.store.delete(key);
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`pool ${pool} was never marked for removal`);
}
