/**
 * The agent's instance runner against an in-process API server, with real processes: the test
 * writes assignments, releases and artifacts straight into the server's store and data dir (as
 * the deploy controller and the builder would) and watches what the agent makes of them. Here:
 * starting, restarting, draining and stopping instances, and one-offs (bad artifacts, an
 * unreachable server and a restarted agent are in test/agent-instances-recovery.test.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Agent } from "../src/agent/agent.js";
import {
  APP,
  GRACE_MS,
  NODE,
  agentDir,
  alive,
  appLogs,
  assign,
  assignment,
  cat,
  get,
  inState,
  newAgent,
  passing,
  processesOf,
  status,
  unassign,
  useAgentNode,
} from "./helpers/agent-instances.js";
import { eventually } from "./helpers/paas.js";

let agent: Agent;

useAgentNode();
beforeAll(async () => {
  agent = newAgent();
  await agent.joined;
});
// Runs before useAgentNode's afterAll (after hooks run last-registered first).
afterAll(async () => {
  await agent?.stop({ stopInstances: true });
});

describe("the agent runs its node's assignments", () => {
  it("starts a web instance with its env, reports it, registers it, and its check passes", async () => {
    const a = assignment();
    await assign(a);
    const s = await eventually("running", inState(a.id, "running"));
    expect(s).toMatchObject({
      app: APP,
      node: NODE,
      release: 1,
      restarts: 0,
      address: "127.0.0.1",
    });
    expect(alive(s.pid!)).toBe(true);
    expect(await get(s.port!)).toMatch(/^hello hi from \d+$/);

    const env = JSON.parse(await get(s.port!, "/env")) as Record<string, string>;
    expect(env).toMatchObject({
      PORT: String(s.port),
      GREETING: "hi",
      GANTRY_INSTANCE_ID: a.id,
      GANTRY_APP: APP,
      GANTRY_RELEASE: "1",
      GANTRY_PROCESS: "web.1",
      HOME: join(agentDir, "instances", a.id, "app"),
    });
    expect(env["AGENT_ONLY_SECRET"]).toBeUndefined(); // the agent's own environment stays its own

    const inst = await eventually("passing in the catalog", () => passing(a.id));
    expect(inst).toMatchObject({
      port: s.port,
      tags: ["web", "v1"],
      meta: { app: APP, release: "1", process: "web.1" },
    });
    expect(inst.checks[0]?.output).toMatch(/200/);
    await eventually("its output in the app's logs", async () =>
      /web\.1 listening on \d+/.test(await appLogs()),
    );
  });

  it("restarts a SIGKILLed instance after a backoff, on the same port", async () => {
    const a = assignment();
    await assign(a);
    const before = await eventually("running", inState(a.id, "running"));
    const killedAt = Date.now();
    process.kill(before.pid!, "SIGKILL");
    const crashed = await eventually("crashed", inState(a.id, "crashed"));
    expect(crashed.exitCode).toBe(137);
    const after = await eventually(
      "running again",
      inState(a.id, "running", (s) => s.restarts === 1),
    );
    expect(after.pid).not.toBe(before.pid);
    expect(after.port).toBe(before.port);
    expect(Date.parse(after.startedAt!) - killedAt).toBeGreaterThanOrEqual(900); // 1 s backoff
    expect(await get(after.port!)).toMatch(/^hello hi/);
    expect(processesOf(a.id).every((pid) => pid !== before.pid)).toBe(true);
  });

  it("shows a crash loop as crashed with the last output lines, backing off", async () => {
    const a = assignment({ processType: "worker", command: "node crash.js" });
    await assign(a);
    const s = await eventually(
      "crashed twice",
      inState(a.id, "crashed", (x) => x.restarts >= 2),
    );
    expect(s.exitCode).toBe(3);
    expect(s.lastOutput).toHaveLength(20);
    expect(s.lastOutput.at(-1)).toBe("boom");
    expect(s.lastOutput[0]).toBe("line 7");
    // Restarts wait 1 s, 2 s, 4 s: in 5 s from the first start there are at most 3.
    await new Promise((r) => setTimeout(r, 5000 - (Date.now() - Date.parse(a.createdAt))));
    expect((await status(a.id))!.restarts).toBeLessThanOrEqual(3);
    await unassign(a);
  });

  it("takes a draining instance out of the catalog but keeps it running", async () => {
    const a = assignment();
    await assign(a);
    const s = await eventually("running", inState(a.id, "running"));
    await eventually("passing", () => passing(a.id));
    await assign({ ...a, desired: "draining", drainingSince: new Date().toISOString() });
    await eventually("deregistered", async () =>
      (await cat.service(APP)).value.some((i) => i.id === a.id) ? undefined : true,
    );
    expect(alive(s.pid!)).toBe(true);
    expect(await get(s.port!)).toMatch(/^hello hi/);
  });

  it("stops a deleted instance with SIGTERM and removes its directory and record", async () => {
    const a = assignment();
    await assign(a);
    const s = await eventually("running", inState(a.id, "running"));
    await eventually("passing", () => passing(a.id));
    await unassign(a);
    await eventually("stopped", () => (alive(s.pid!) ? undefined : true), 5000);
    await eventually("removed", async () =>
      (await status(a.id)) === undefined && !existsSync(join(agentDir, "instances", a.id))
        ? true
        : undefined,
    );
    expect((await cat.service(APP)).value.some((i) => i.id === a.id)).toBe(false);
    await eventually("its goodbye in the logs", async () =>
      (await appLogs()).includes("web.1 got SIGTERM, bye"),
    );
  });

  it("kills an instance that ignores SIGTERM once the grace period is over", async () => {
    const a = assignment({ processType: "worker", command: "node stubborn.js" });
    await assign(a);
    const s = await eventually("running", inState(a.id, "running"));
    const pids = processesOf(a.id);
    expect(pids.length).toBeGreaterThan(0);
    const t0 = Date.now();
    await unassign(a);
    // The instance's own output file, not the shipped logs (flushed every logFlushMs, as long
    // as the grace period itself).
    const output = join(agentDir, "instances", a.id, "output.log");
    await eventually("SIGTERM delivered", async () =>
      existsSync(output) && readFileSync(output, "utf8").includes("ignoring SIGTERM")
        ? true
        : undefined,
    );
    expect(Date.now() - t0).toBeLessThan(GRACE_MS);
    expect(pids.some(alive)).toBe(true); // still there within the grace period
    await eventually("killed", () => (pids.some(alive) ? undefined : true), GRACE_MS + 3000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(alive(s.pid!)).toBe(false);
  });

  it("runs a one-off once and reports its exit code, its output under run.N", async () => {
    const a = assignment({
      processType: "run",
      index: 4,
      kind: "oneoff",
      command: "node oneoff.js",
    });
    await assign(a);
    const s = await eventually("exited", inState(a.id, "exited"));
    expect(s.exitCode).toBe(7);
    expect(s.restarts).toBe(0);
    // Shipped before the exit was reported: `gantry run` stops following the logs at the exit.
    expect(await appLogs()).toContain("run.4 ran with GREETING=hi");
    await new Promise((r) => setTimeout(r, 1500));
    expect((await status(a.id))?.state).toBe("exited");
    const out = readFileSync(join(agentDir, "instances", a.id, "output.log"), "utf8");
    expect(out.match(/ran with/g)).toHaveLength(1); // never run again
    await unassign(a);
  });
});
