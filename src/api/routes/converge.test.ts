import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../../../test/helpers/api.js";
import { ConvergeClient } from "../../client/converge.js";
import { ApiError } from "../../client/errors.js";
import { RUNS_KEPT, type RunRecord } from "../../model/converge.js";
import { agentPolicies } from "../../model/policies.js";

let t: TestApi;
let admin: ConvergeClient;
let agent: ConvergeClient;

const FILES = {
  "top.yaml": "web: [motd]\n",
  "motd.yaml": "resources:\n  - file: /tmp/gantry-motd-never-applied\n    content: hi\n",
};

const run = (node: string, n: number): RunRecord => ({
  node,
  triggers: [{ kind: "key", key: `k${n}` }],
  startedAt: new Date().toISOString(),
  finishedAt: new Date().toISOString(),
  durationMs: n,
  statesHash: "h",
  roles: ["web"],
  summary: { ok: 1, changed: 0, failed: 0, skipped: 0 },
  resources: [],
  reads: { keys: [], services: [] },
});

const status = async (p: Promise<unknown>): Promise<number | string> => {
  try {
    await p;
    return "ok";
  } catch (err) {
    return err instanceof ApiError ? err.status : String(err);
  }
};

beforeAll(async () => {
  t = await startTestApi();
  admin = new ConvergeClient(t.admin);
  agent = new ConvergeClient(await t.clientWith(agentPolicies("n1")));
});
afterAll(() => t?.close());

describe("converge routes", () => {
  it("stores pushed states with a stable hash; agents read them but may not push", async () => {
    expect(await admin.states()).toBeUndefined();
    const res = await admin.pushStates(FILES);
    expect(res.files).toBe(2);
    const again = await admin.pushStates({
      "motd.yaml": FILES["motd.yaml"],
      "top.yaml": FILES["top.yaml"],
    });
    expect(again.hash).toBe(res.hash);
    const bundle = await agent.bundle();
    expect(bundle?.files).toEqual(FILES);
    expect((await agent.states())?.files).toEqual([
      { path: "motd.yaml", bytes: Buffer.byteLength(FILES["motd.yaml"]) },
      { path: "top.yaml", bytes: Buffer.byteLength(FILES["top.yaml"]) },
    ]);
    expect(await status(agent.pushStates(FILES))).toBe(403);
    const audit = await t.admin.audit(20);
    expect(audit.some((e) => e.action === "states.push")).toBe(true);
  });

  it("refuses an invalid states dir and paths outside it, naming the problem", async () => {
    const bad = admin.pushStates({
      "top.yaml": "web: [motd]\n",
      "motd.yaml": "resources:\n  - flie: x\n",
    });
    await expect(bad).rejects.toThrow(/motd\.yaml:2/);
    await expect(admin.pushStates({ "../etc/passwd": "x" })).rejects.toMatchObject({
      status: 400,
      field: "files.../etc/passwd",
    });
  });

  it("sets roles with a states policy; a node's agent reads its own settings only", async () => {
    const states = new ConvergeClient(
      await t.clientWith([{ resource: "states", prefix: "n", access: "write" }]),
    );
    await states.setNode("n1", { roles: ["web"], vars: { port: 8080 } });
    expect(await status(states.setNode("db-1", { roles: ["db"] }))).toBe(403);
    expect(await status(agent.setNode("n1", { roles: ["db"] }))).toBe(403);
    const { value, index } = await agent.node("n1");
    expect(value).toMatchObject({
      node: "n1",
      configured: true,
      roles: ["web"],
      vars: { port: 8080 },
    });
    expect(value.statesHash).toMatch(/^[0-9a-f]{64}$/);
    expect(index).toBeGreaterThan(0);
    expect(await status(agent.node("n2"))).toBe(403);
    await expect(admin.setNode("n1", { roles: ["bad role"] })).rejects.toMatchObject({
      field: "roles.0",
    });
  });

  it("a blocking read wakes on a change of the node's roles or the states, not of others", async () => {
    const { index } = await agent.node("n1");
    const t0 = Date.now();
    const waiting = agent.node("n1", { index, wait: "5s" });
    await new Promise((r) => setTimeout(r, 100));
    await admin.setNode("n9", { roles: ["other"] }); // another node: must not wake it
    await new Promise((r) => setTimeout(r, 200));
    await admin.setNode("n1", { roles: ["web", "extra"] });
    const woke = await waiting;
    expect(woke.value.roles).toEqual(["web", "extra"]);
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(woke.index).toBeGreaterThan(index);
  });

  it("keeps the last runs per node, newest first, written only by the node's agent", async () => {
    for (let n = 1; n <= RUNS_KEPT + 2; n++) await agent.reportRun(run("n1", n));
    const runs = await admin.runs("n1");
    expect(runs).toHaveLength(RUNS_KEPT);
    expect(runs[0]!.durationMs).toBe(RUNS_KEPT + 2);
    expect(await status(agent.reportRun(run("n2", 1)))).toBe(403);
    expect((await admin.lastRuns()).map((r) => [r.node, r.durationMs])).toEqual([
      ["n1", RUNS_KEPT + 2],
    ]);
  });
});

describe("revisions for stack plans", () => {
  it("shows the modRevision of the states bundle and of each node's settings", async () => {
    const pushed = await admin.pushStates(FILES);
    expect((await admin.states())?.modRevision).toBe(pushed.revision);
    expect((await admin.bundle())?.modRevision).toBe(pushed.revision);
    expect((await admin.node("rev-1")).value.modRevision).toBe(0);
    const set = (await admin.setNode("rev-1", { roles: ["web"] })) as { revision?: number };
    expect((await admin.node("rev-1")).value.modRevision).toBe(set.revision);
    const listed = (await admin.nodes()).find((n) => n.node === "rev-1");
    expect(listed?.modRevision).toBe(set.revision);
  });
});
