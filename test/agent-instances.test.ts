/**
 * The agent's instance runner against an in-process API server, with real processes: the test
 * writes assignments, releases and artifacts straight into the server's store and data dir (as
 * the deploy controller and the builder would) and watches what the agent makes of them.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type Agent } from "../src/agent/agent.js";
import { CatalogClient } from "../src/client/catalog.js";
import { GantryClient } from "../src/client/client.js";
import type { Assignment, InstanceStatus } from "../src/model/app.js";
import { agentPolicies } from "../src/model/policies.js";
import {
  APP_FILES,
  assignment as newAssignment,
  deleteAssignment,
  instanceStatus,
  putAssignment,
  seedApp,
} from "./helpers/agent-fixture.js";
import { startTestApi, type TestApi } from "./helpers/api.js";
import { eventually } from "./helpers/paas.js";
import { appTarball, storeArtifact, tarGz } from "./helpers/tarball.js";

const NODE = "box";
const APP = "hello";
const GRACE_MS = 1500;

let t: TestApi;
let cat: CatalogClient;
let agentDir: string;
let artifact: string;
let agent: Agent;
let offline = false;
/** Requests under way: cut when the test takes the agent offline, as a network failure would. */
const inFlight = new Set<AbortController>();
function goOffline(): void {
  offline = true;
  for (const c of inFlight) c.abort(new TypeError("fetch failed (test: offline)"));
}
let agentClient: GantryClient;
const agentLog: string[] = [];

function newAgent(): Agent {
  return startAgent({
    client: agentClient,
    nodeName: NODE,
    dataDir: agentDir,
    wait: "2s",
    ttl: 5,
    log: (l) => agentLog.push(l),
    // Logs ship slowly here, so a test sees whether a one-off's output goes before its exit.
    runner: { stopGraceMs: GRACE_MS, tickMs: 200, logFlushMs: 1500 },
  });
}

beforeAll(async () => {
  t = await startTestApi();
  cat = new CatalogClient(t.admin);
  agentDir = mkdtempSync(join(tmpdir(), "gantry-agent-data-"));
  const secret = (await t.clientWith(agentPolicies(NODE), `agent-${NODE}`)).secret;
  // The agent's own client, which the test can cut off from the server.
  agentClient = new GantryClient({
    addr: t.url,
    token: secret,
    fetch: async (input, init) => {
      if (offline) throw new TypeError("fetch failed (test: offline)");
      const cut = new AbortController();
      inFlight.add(cut);
      const signal = init?.signal ? AbortSignal.any([init.signal, cut.signal]) : cut.signal;
      try {
        return await fetch(input, { ...init, signal });
      } catch (err) {
        throw cut.signal.aborted ? new TypeError("fetch failed (test: offline)") : err;
      } finally {
        inFlight.delete(cut);
      }
    },
  });
  process.env["AGENT_ONLY_SECRET"] = "must not leak into instances";
  ({ artifact } = await seedApp(t, APP));
  agent = newAgent();
  await agent.joined;
});

afterAll(async () => {
  await agent?.stop({ stopInstances: true });
  await t?.close();
  rmSync(agentDir, { recursive: true, force: true });
  delete process.env["AGENT_ONLY_SECRET"];
});

const assignment = (fields: Partial<Assignment> = {}): Assignment =>
  newAssignment(APP, NODE, artifact, fields);
const assign = (a: Assignment) => putAssignment(t, a);
const unassign = (a: Assignment) => deleteAssignment(t, a);

const status = (id: string) => instanceStatus(t, id);
const inState =
  (id: string, state: InstanceStatus["state"], extra = (_s: InstanceStatus) => true) =>
  async () => {
    const s = await status(id);
    return s?.state === state && extra(s) ? s : undefined;
  };

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
};

/** Live processes that carry this instance id in their environment. */
function processesOf(id: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return (
          alive(Number(p)) &&
          readFileSync(`/proc/${p}/environ`, "utf8")
            .split("\0")
            .includes(`GANTRY_INSTANCE_ID=${id}`)
        );
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function get(port: number, path = "/"): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return res.text();
}

async function appLogs(): Promise<string> {
  const res = await t.admin.request("GET", `/v1/apps/${APP}/logs`, { query: { tail: 10_000 } });
  return res.text();
}

const passing = async (id: string) =>
  (await cat.service(APP, { passing: true })).value.find((i) => i.id === id);

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
