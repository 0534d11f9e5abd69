/**
 * `gantry apply` waits for a pool's nodes to be ready before the items after it (apps) go on:
 * against a real API and store in-process, the test plays the pool controller's status writes.
 * Ready in time: the apply goes on and says so; a halted pool fails at once with its reason;
 * never ready: the apply fails after waitForReady, naming what it saw.
 */
import { describe, expect, it } from "vitest";
import { K } from "../src/model/keys.js";
import type { PoolStatus } from "../src/model/pool.js";
import { applyPlan } from "../src/spec/apply.js";
import { planStack } from "../src/spec/live.js";
import { stackApi } from "./helpers/stack-api.js";

const s = stackApi();
const { registry, progress, ctx } = s;

const stackText = (type: string, wait: string) => `stack: { name: pools }
addressPlan:
  pattern: "10.{location}.{type}.{instance}"
  locations: { nz-por-1: 100 }
  types: { web: 6, db: 8, cache: 9 }
pools:
  ${type}: { provider: local, size: 2, location: nz-por-1, type: ${type}, waitForReady: ${wait} }
`;

async function apply(text: string): Promise<unknown> {
  const stack = s.parse(text);
  const { plan, snapshot } = await planStack(ctx(), registry, stack);
  return applyPlan(ctx(), registry, plan, snapshot).catch((e: unknown) => e);
}

/** Write the pool's status as the controller would, `ms` from now. */
function statusLater(pool: string, ms: number, over: Partial<PoolStatus>): void {
  const status: PoolStatus = {
    name: pool,
    desired: 2,
    ready: 0,
    joining: 0,
    repairing: 0,
    unhealthy: 0,
    nodes: [],
    updatedAt: new Date().toISOString(),
    ...over,
  };
  setTimeout(() => void s.t.store.put(K.poolStatus + pool, JSON.stringify(status)), ms);
}

describe("apply waits for a pool's nodes", () => {
  it("goes on once the pool has its ready nodes", async () => {
    statusLater("web", 300, { ready: 1, joining: 1 });
    statusLater("web", 900, { ready: 2 });
    const started = Date.now();
    const result = await apply(stackText("web", "30s"));
    expect(result).toEqual({ created: 2, updated: 0, replaced: 0, destroyed: 0 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect(progress).toContain("pool web: 2 of 2 ready");
  });

  it("fails at once, with the reason, when the pool is halted", async () => {
    statusLater("db", 200, { halted: 'no provider "local" on this server (it has: none)' });
    const started = Date.now();
    const err = (await apply(stackText("db", "30s"))) as Error;
    expect(err.message).toMatch(/pool db: no provider "local" on this server/);
    expect(err.message).toMatch(/gantry pools:info db/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("fails after waitForReady, saying how far the pool got", async () => {
    statusLater("cache", 100, {
      ready: 1,
      lastEvent: {
        at: new Date().toISOString(),
        message: "create of cache-2 failed: quota",
        error: true,
      },
    });
    const err = (await apply(stackText("cache", "2s"))) as Error;
    expect(err.message).toMatch(
      /pool cache: 1 of 2 ready; last: create of cache-2 failed: quota after 2s/,
    );
  });
});
