import { afterAll, beforeAll, expect, it } from "vitest";
import { StackClient } from "../src/client/stack.js";
import type { StackInfo } from "../src/model/stack.js";
import { recordLastApply } from "../src/spec/last-apply.js";
import { DEFAULT_SETTINGS } from "../src/spec/load.js";
import type { Plan } from "../src/spec/plan.js";
import { startTestApi, type TestApi } from "./helpers/api.js";

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t?.close();
});

it("records the plan an apply carried out in stack/info, without sensitive values", async () => {
  const plan: Plan = {
    settings: DEFAULT_SETTINGS,
    changes: [
      { kind: "kv", name: "app/port", action: "update", fields: [{ path: "", old: 1, new: 2 }] },
      {
        kind: "app",
        name: "web",
        action: "create",
        fields: [{ path: "config.API_KEY", new: "s3cr3t-value", sensitive: true }],
      },
      { kind: "kv", name: "same", action: "no-op", fields: [] },
    ],
    summary: { create: 1, update: 1, replace: 0, destroy: 0, orphan: 0 },
    destroysEverything: false,
    staleRecords: [],
  };
  const stacks = new StackClient(t.admin);
  await recordLastApply(stacks, {
    name: "default",
    by: "test",
    result: { created: 1, updated: 1, replaced: 0, destroyed: 0 },
    plan,
  });
  const info = (await stacks.info()) as StackInfo;
  expect(info.lastApply?.result).toBe("ok");
  expect(info.lastApply?.plan?.changes).toEqual([
    { kind: "kv", name: "app/port", action: "update", fields: [{ path: "", old: "1", new: "2" }] },
    {
      kind: "app",
      name: "web",
      action: "create",
      fields: [{ path: "config.API_KEY", sensitive: true }],
    },
  ]);
  const raw = await fetch(`${t.url}/v1/stack/info`, {
    headers: { authorization: `Bearer ${t.adminToken}` },
  });
  expect(await raw.text()).not.toContain("s3cr3t-value");
});
