/**
 * TEST config through the API (issue 15): `?scope=test` reads and changes `config-test/<app>`
 * without a release; a viewer cannot read it; the agent's env route gives a test run the TEST
 * config and CI=true, and a release's instances the release's config only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentWorkClient } from "../src/client/agent-work.js";
import { AppsClient } from "../src/client/apps.js";
import { parsePolicy } from "../src/model/token.js";
import { agentPolicies } from "../src/model/policies.js";
import { assignment, putAssignment, seedApp } from "./helpers/agent-fixture.js";
import { errorOf, startTestApi, type TestApi } from "./helpers/api.js";

let t: TestApi;
let apps: AppsClient;

beforeAll(async () => {
  t = await startTestApi();
  apps = new AppsClient(t.admin);
});
afterAll(() => t?.close());

describe("TEST config", () => {
  it("is its own config: set, read and unset with scope test, no release made", async () => {
    const { artifact } = await seedApp(t, "tc");
    const answer = await apps.changeTestConfig("tc", { set: { DB: "postgres://t", X: "1" } });
    expect(answer).toEqual({ changed: true, version: 1, scope: "test" });
    expect((await apps.config("tc", "test")).values).toEqual({ DB: "postgres://t", X: "1" });
    expect((await apps.config("tc")).values).toEqual({}); // the fixture has no config record
    expect(await apps.changeTestConfig("tc", { set: { X: "1" } })).toMatchObject({
      changed: false,
      version: 1,
    });
    expect(await apps.changeTestConfig("tc", { unset: ["X"] })).toMatchObject({ version: 2 });
    expect(await apps.releases("tc")).toHaveLength(1); // only the seeded v1
    const audit = await t.store.range({ prefix: "sys/audit/" });
    expect(audit.kvs.map((kv) => Buffer.from(kv.value).toString())).toEqual(
      expect.arrayContaining([expect.stringContaining("app.config.test")]),
    );

    // The agent's env: TEST config + CI=true for a test run; the release's for the others.
    const agent = new AgentWorkClient(await t.clientWith(agentPolicies("n1")));
    const run = {
      ...assignment("tc", "n1", artifact),
      config: "test" as const,
      kind: "oneoff" as const,
    };
    await putAssignment(t, run);
    expect(await agent.env("n1", run.id)).toEqual({ DB: "postgres://t", CI: "true" });
    const web = assignment("tc", "n1", artifact);
    await putAssignment(t, web);
    const env = await agent.env("n1", web.id);
    expect(env).toEqual({ GREETING: "hi", PORT: "1" });
  });

  it("refuses a viewer, an unknown scope and an unknown app", async () => {
    await seedApp(t, "tv");
    const viewer = new AppsClient(await t.clientWith([parsePolicy("app:tv:read")]));
    expect((await errorOf(viewer.config("tv", "test"))).status).toBe(403);
    const bad = await errorOf(
      t.admin.json("GET", "/v1/apps/tv/config", { query: { scope: "staging" } }),
    );
    expect(bad.status).toBe(400);
    expect(bad.message).toMatch(/scope must be release or test/);
    expect((await errorOf(apps.changeTestConfig("nope", { set: { A: "1" } }))).status).toBe(404);
  });
});
