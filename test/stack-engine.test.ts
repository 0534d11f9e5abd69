/**
 * The stack engine against a real API and store in-process: apply records each item as it goes,
 * a failing item stops the apply with everything before it recorded, and running it again
 * continues; 1,000 keys go in a few transactions.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { StackClient } from "../src/client/stack.js";
import { applyPlan } from "../src/spec/apply.js";
import { ApplyFailedError } from "../src/spec/errors.js";
import type { Kind, KindContext } from "../src/spec/kind.js";
import { kvKind } from "../src/spec/kinds/kv.js";
import { planStack } from "../src/spec/live.js";
import { parseStack } from "../src/spec/load.js";
import { KindRegistry } from "../src/spec/registry.js";
import { startTestApi, type TestApi } from "./helpers/api.js";

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t?.close();
});

/** `flags:` — one KV key each under flags/, whose create fails while `broken` names it. */
let broken = "";
const flagKind: Kind<{ on: boolean }, string> = {
  name: "flag",
  section: "flags",
  rank: 20,
  schema: z.strictObject({ on: z.boolean() }),
  refs: () => [{ kind: "kv", name: "flags/enabled" }],
  async read(ctx, names) {
    const live = new Map();
    for (const n of names) {
      const kv = await ctx.client.kvGet(`flags/${n}`);
      if (kv !== undefined)
        live.set(n, { name: n, value: Buffer.from(kv.value, "base64").toString(), revisions: {} });
    }
    return live;
  },
  diff: (item, live) =>
    live?.value === String(item.spec.on) ? [] : [{ path: "on", new: item.spec.on }],
  async create(ctx, item) {
    if (item.name === broken) throw new Error("the flag service said no");
    await ctx.client.kvPut(`flags/${item.name}`, String(item.spec.on));
  },
  async update(ctx, item) {
    await ctx.client.kvPut(`flags/${item.name}`, String(item.spec.on));
  },
  async destroy(ctx, name) {
    await ctx.client.kvDelete(`flags/${name}`);
  },
};

const registry = new KindRegistry([kvKind, flagKind] as Kind[]);
const ctx = (): KindContext => ({
  client: t.admin,
  dir: "/stack",
  stack: { name: "engine" },
  progress: () => undefined,
  reveal: () => undefined,
});

async function apply(text: string) {
  const stack = parseStack("/stack", text, registry, { env: {} });
  const { plan, snapshot } = await planStack(ctx(), registry, stack);
  return { plan, result: await applyPlan(ctx(), registry, plan, snapshot) };
}

const SPEC = `stack: { name: engine }
kv:
  flags/enabled: "yes"
flags:
  a: { on: true }
  b: { on: false }
  c: { on: true }
`;

describe("applying a stack", () => {
  it("stops at a failing item, with what came before applied and recorded; a re-run continues", async () => {
    broken = "b";
    const err = await apply(SPEC).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplyFailedError);
    expect((err as Error).message).toMatch(
      /^create of flag b failed: the flag service said no\n2 changes were applied before it and recorded; run gantry apply again to continue\.$/,
    );
    const recorded = (await new StackClient(t.admin).items()).items.map(
      (r) => `${r.kind}/${r.name}`,
    );
    expect(recorded.sort()).toEqual(["flag/a", "kv/flags/enabled"]);
    expect(await t.admin.kvGet("flags/c")).toBeUndefined(); // nothing after the failure

    broken = "";
    const again = await apply(SPEC);
    expect(again.plan.changes.filter((c) => c.action !== "no-op").map((c) => c.name)).toEqual([
      "b",
      "c",
    ]);
    expect(again.result).toEqual({ created: 2, updated: 0, replaced: 0, destroyed: 0 });
    const { plan } = await planStack(ctx(), registry, parseStack("/stack", SPEC, registry));
    expect(plan.summary).toEqual({ create: 0, update: 0, replace: 0, destroy: 0, orphan: 0 });
  });

  it("records an item applied before a crash when it is found already right", async () => {
    await t.admin.kvPut("adopt/me", "1");
    const { plan, result } = await apply('kv:\n  adopt/me: "1"\n');
    // (The first test's items are orphans here: this spec does not declare them.)
    expect(plan.changes.find((c) => c.name === "adopt/me")?.action).toBe("no-op");
    expect(result.created).toBe(0);
    expect(await new StackClient(t.admin).item("kv", "adopt/me")).toMatchObject({
      stack: "default",
    });
  });

  it("applies 1,000 keys in batches and plans them as unchanged after", async () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `  bulk/k${i}: "${i}"\n`).join("");
    const before = (await t.store.status()).revision;
    const started = performance.now();
    const { result } = await apply(`kv:\n${keys}`);
    const ms = performance.now() - started;
    expect(result.created).toBe(1000);
    // 16 transactions of keys and 16 of records (plus housekeeping), not 2,000 writes.
    expect((await t.store.status()).revision - before).toBeLessThan(60);
    expect(await t.admin.kvGet("bulk/k999")).toMatchObject({
      value: Buffer.from("999").toString("base64"),
    });
    console.log(`applied 1,000 kv items in ${ms.toFixed(0)} ms`);
  });
});
