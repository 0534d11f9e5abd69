/**
 * The agent's instance runner against an in-process API server, with real processes, when
 * things go wrong: artifacts it must refuse, a server it cannot reach for a while, and an agent
 * that restarts under running instances (the normal life of an instance is in
 * test/agent-instances.test.ts).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Agent } from "../src/agent/agent.js";
import { APP_FILES } from "./helpers/agent-fixture.js";
import {
  APP,
  agentDir,
  agentLog,
  alive,
  assign,
  assignment,
  cat,
  get,
  inFlight,
  inState,
  newAgent,
  passing,
  processesOf,
  status,
  t,
  unassign,
  useAgentNode,
} from "./helpers/agent-instances.js";
import { eventually } from "./helpers/paas.js";
import { appTarball, storeArtifact, tarGz } from "./helpers/tarball.js";

let agent: Agent;
let offline = false;
function goOffline(): void {
  offline = true;
  for (const c of inFlight) c.abort(new TypeError("fetch failed (test: offline)"));
}

useAgentNode(() => offline);
beforeAll(async () => {
  agent = newAgent();
  await agent.joined;
});
// Runs before useAgentNode's afterAll (after hooks run last-registered first).
afterAll(async () => {
  await agent?.stop({ stopInstances: true });
});

describe("the agent runs its node's assignments", () => {
  it("refuses an artifact that reaches outside its directory", async () => {
    const evil = storeArtifact(
      t.dataDir,
      tarGz([
        { path: "server.js", body: APP_FILES["server.js"] },
        { path: "../../../escaped", body: "pwned" },
      ]),
    );
    const a = assignment({ artifact: evil });
    await assign(a);
    const s = await eventually("refused", inState(a.id, "crashed"));
    expect(s.lastOutput.join("\n")).toMatch(/artifact was refused: .*leaves the app directory/);
    expect(s.pid).toBeUndefined();
    expect(existsSync(join(agentDir, "escaped"))).toBe(false);
    expect(existsSync(join(agentDir, "instances", a.id, "app"))).toBe(false);
    expect((await cat.service(APP)).value.some((i) => i.id === a.id)).toBe(false);
    await unassign(a);
  });

  it("does not run an artifact whose bytes do not match its sha256", async () => {
    const real = appTarball(APP_FILES);
    const fake = "0".repeat(64);
    const dir = join(t.dataDir, "artifacts");
    writeFileSync(join(dir, `${fake}.tar.gz`), real);
    const a = assignment({ processType: "worker", artifact: fake });
    await assign(a);
    const s = await eventually("refused download", async () => {
      const x = await status(a.id);
      return x?.lastOutput.some((l) => l.includes("the download has sha256")) ? x : undefined;
    });
    expect(s.state).toBe("starting");
    expect(s.pid).toBeUndefined();
    expect(existsSync(join(agentDir, "artifacts", `${fake}.tar.gz`))).toBe(false);
    await unassign(a);
  });

  it("keeps running while the server is unreachable and catches up without duplicates", async () => {
    const a = assignment();
    await assign(a);
    const s = await eventually("running", inState(a.id, "running"));
    await eventually("passing", () => passing(a.id));
    goOffline();
    try {
      await new Promise((r) => setTimeout(r, 2500));
      // While the agent cannot hear it, the instance is put to draining.
      await assign({ ...a, desired: "draining", drainingSince: new Date().toISOString() });
      await new Promise((r) => setTimeout(r, 500));
      expect(alive(s.pid!)).toBe(true);
      expect(await get(s.port!)).toMatch(/^hello hi/);
      expect((await cat.service(APP)).value.some((i) => i.id === a.id)).toBe(true);
    } finally {
      offline = false;
    }
    await eventually("deregistered after reconnecting", async () =>
      (await cat.service(APP)).value.some((i) => i.id === a.id) ? undefined : true,
    );
    expect((await status(a.id))?.pid).toBe(s.pid);
    expect(processesOf(a.id).length).toBeGreaterThan(0);
    expect(processesOf(a.id).every((pid) => pid === s.pid || alive(pid))).toBe(true);
    expect(agentLog.some((l) => l.includes("instances keep running"))).toBe(true);
    expect(
      agentLog.some((l) => l.includes("reconciling")),
      agentLog.join("\n"),
    ).toBe(true);
    await unassign(a);
  });

  it("a restarted agent adopts its running instances: same process, no duplicate", async () => {
    const a = assignment();
    await assign(a);
    const s = await eventually("running", inState(a.id, "running"));
    await eventually("passing", () => passing(a.id));
    const procs = processesOf(a.id).sort();
    const served = await get(s.port!);

    await agent.stop(); // leaves instances running
    expect(alive(s.pid!)).toBe(true);
    expect(await get(s.port!)).toBe(served);
    const state = JSON.parse(readFileSync(join(agentDir, "state.json"), "utf8")) as {
      instances: { handle?: { pid: number } }[];
    };
    expect(state.instances.some((i) => i.handle?.pid === s.pid)).toBe(true);

    agent = newAgent();
    await agent.joined;
    await eventually("adopted", () =>
      agentLog.some((l) => l.includes(`adopted ${a.id} (pid ${s.pid})`)) ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 2000));
    expect(processesOf(a.id).sort()).toEqual(procs);
    expect(await get(s.port!)).toBe(served);
    const after = await eventually("reported", inState(a.id, "running"));
    expect(after).toMatchObject({ pid: s.pid, port: s.port, restarts: 0 });
    expect(await passing(a.id)).toBeDefined();

    // Adopted, it is supervised like any other: killed, it comes back.
    process.kill(s.pid!, "SIGKILL");
    const again = await eventually(
      "restarted after adoption",
      inState(a.id, "running", (x) => x.restarts === 1),
    );
    expect(again.pid).not.toBe(s.pid);
    expect(await get(again.port!)).toMatch(/^hello hi/);
  });
});
