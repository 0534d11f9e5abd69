import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assignment,
  instanceStatus,
  putAssignment,
  seedApp,
} from "../../../test/helpers/agent-fixture.js";
import { startTestApi, type TestApi } from "../../../test/helpers/api.js";
import { AgentWorkClient } from "../../client/agent-work.js";
import { ApiError } from "../../client/errors.js";
import type { Assignment, InstanceStatus } from "../../model/app.js";
import { agentPolicies } from "../../model/policies.js";

let t: TestApi;
let mine: AgentWorkClient;
let other: AgentWorkClient;
let artifact: string;
let a: Assignment;

beforeAll(async () => {
  t = await startTestApi();
  ({ artifact } = await seedApp(t, "web"));
  mine = new AgentWorkClient(await t.clientWith(agentPolicies("n1")));
  other = new AgentWorkClient(await t.clientWith(agentPolicies("n2")));
  a = assignment("web", "n1", artifact);
  await putAssignment(t, a);
});
afterAll(() => t?.close());

const statusOf = (x: Assignment, fields: Partial<InstanceStatus> = {}): InstanceStatus => ({
  id: x.id,
  app: x.app,
  release: x.release,
  processType: x.processType,
  index: x.index,
  node: x.node,
  state: "running",
  pid: 42,
  restarts: 0,
  lastOutput: [],
  updatedAt: new Date(0).toISOString(),
  ...fields,
});

const refusal = async (p: Promise<unknown>): Promise<number> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return (err as ApiError).status;
};

describe("agent work routes", () => {
  it("list a node's assignments to its own agent only", async () => {
    const res = await mine.assignments("n1");
    expect(res.value.map((x) => x.id)).toEqual([a.id]);
    expect(res.index).toBeGreaterThan(0);
    expect(await refusal(other.assignments("n1"))).toBe(403);
    expect((await other.assignments("n2")).value).toEqual([]);
  });

  it("answer a blocking read when the node's assignments change", async () => {
    const { index } = await mine.assignments("n1");
    const b = assignment("web", "n1", artifact, { processType: "worker" });
    const waiting = mine.assignments("n1", { index, wait: "5s" });
    await new Promise((r) => setTimeout(r, 100));
    await putAssignment(t, assignment("web", "n2", artifact)); // another node: no wake-up
    await putAssignment(t, b);
    const res = await waiting;
    expect(res.value.map((x) => x.id).sort()).toEqual([a.id, b.id].sort());
    expect(res.index).toBeGreaterThan(index);
  });

  it("give an assignment's env with the release's config decrypted", async () => {
    expect(await mine.env("n1", a.id)).toEqual({ GREETING: "hi", PORT: "1" });
    expect(await refusal(other.env("n1", a.id))).toBe(403);
    expect(await refusal(mine.env("n1", "web-v1-web-9-none"))).toBe(404);
  });

  it("serve an artifact only to nodes assigned to run it", async () => {
    const body = await new Response(await mine.artifact(artifact)).arrayBuffer();
    expect(createHash("sha256").update(Buffer.from(body)).digest("hex")).toBe(artifact);
    const stranger = new AgentWorkClient(await t.clientWith(agentPolicies("n3")));
    expect(await refusal(stranger.artifact(artifact))).toBe(403);
    expect(await refusal(mine.artifact("f".repeat(64)))).toBe(403);
    expect(await refusal(new AgentWorkClient(t.admin).artifact("f".repeat(64)))).toBe(404);
    expect(await refusal(mine.artifact("../../secret.key"))).toBe(400);
  });

  it("store an instance's status only from its node's agent, while it is assigned", async () => {
    await mine.reportInstance(statusOf(a));
    const stored = await instanceStatus(t, a.id);
    expect(stored).toMatchObject({ state: "running", pid: 42 });
    expect(stored!.updatedAt).not.toBe(new Date(0).toISOString()); // the server's clock
    expect(await refusal(other.reportInstance(statusOf(a)))).toBe(403);
    expect(await refusal(other.reportInstance(statusOf(a, { node: "n2" })))).toBe(404);
    const gone = assignment("web", "n1", artifact);
    expect(await refusal(mine.reportInstance(statusOf(gone)))).toBe(404);
    expect(await instanceStatus(t, gone.id)).toBeUndefined();
    expect(await refusal(mine.reportInstance(statusOf(a, { app: "other" })))).toBe(400);
  });

  it("remove an instance's status for its node's agent", async () => {
    await mine.reportInstance(statusOf(a, { state: "stopped" }));
    expect(await refusal(other.deleteInstance(a.id))).toBe(403);
    await mine.deleteInstance(a.id);
    expect(await instanceStatus(t, a.id)).toBeUndefined();
    expect(await refusal(mine.deleteInstance(a.id))).toBe(404);
  });
});
