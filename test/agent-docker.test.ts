/**
 * The agent runs an assignment with runtime docker (a slug on Gantry's base image) against an
 * in-process API server and the real Docker engine: it runs, answers on its port like a
 * process, a container killed from outside is a crash Gantry restarts, and a restarted agent
 * adopts the container it left (same container, no second one). Needs dockerd
 * (scripts/start-dockerd.sh).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type Agent } from "../src/agent/agent.js";
import { GantryClient } from "../src/client/client.js";
import { dockerEngine } from "../src/docker/engine.js";
import { DockerDriver } from "../src/drivers/docker/index.js";
import type { Assignment, InstanceStatus } from "../src/model/app.js";
import { agentPolicies } from "../src/model/policies.js";
import {
  assignment as newAssignment,
  deleteAssignment,
  instanceStatus,
  putAssignment,
  seedApp,
} from "./helpers/agent-fixture.js";
import { startTestApi, type TestApi } from "./helpers/api.js";
import { eventually } from "./helpers/paas.js";

const NODE = "dock";
const APP = "boxed";
const engine = dockerEngine();

let t: TestApi;
let agentDir: string;
let artifact: string;
let agent: Agent;
let client: GantryClient;
const agentLog: string[] = [];

const newAgent = (): Agent =>
  startAgent({
    client,
    nodeName: NODE,
    dataDir: agentDir,
    wait: "2s",
    ttl: 5,
    log: (l) => agentLog.push(l),
    runner: { stopGraceMs: 1500, tickMs: 200 },
  });

beforeAll(async () => {
  t = await startTestApi();
  agentDir = mkdtempSync(join(tmpdir(), "gantry-agent-docker-"));
  client = new GantryClient({
    addr: t.url,
    token: (await t.clientWith(agentPolicies(NODE), `agent-${NODE}`)).secret,
  });
  ({ artifact } = await seedApp(t, APP));
  agent = newAgent();
  await agent.joined;
});

afterAll(async () => {
  await agent?.stop({ stopInstances: true });
  await t?.close();
  rmSync(agentDir, { recursive: true, force: true });
});

const inState =
  (id: string, state: InstanceStatus["state"], extra = (_s: InstanceStatus) => true) =>
  async () => {
    const s = await instanceStatus(t, id);
    return s?.state === state && extra(s) ? s : undefined;
  };

/** The containers of an instance, found as the driver finds them: by label. */
const containersOf = (id: string) =>
  engine.listContainers({ all: true, filters: { label: [`gantry.instance=${id}`] } });

const get = async (port: number, path = "/"): Promise<string> =>
  (await fetch(`http://127.0.0.1:${port}${path}`)).text();

describe("runtime docker on the agent", () => {
  it("runs, serves, is restarted when killed from outside, and is adopted by a new agent", async () => {
    const a: Assignment = newAssignment(APP, NODE, artifact, {
      runtime: "docker",
      container: { memoryMb: 128 },
    });
    await putAssignment(t, a);
    const s = await eventually("running", inState(a.id, "running"), 60_000);
    expect(s.port).toBeGreaterThan(0);
    expect(await get(s.port!)).toMatch(/^hello hi from \d+$/);
    // Config reaches it as environment; the agent's own does not.
    const env = JSON.parse(await get(s.port!, "/env")) as Record<string, string>;
    expect(env["PORT"]).toBe(String(s.port));
    expect(env["GANTRY_INSTANCE_ID"]).toBe(a.id);

    const [first, ...others] = await containersOf(a.id);
    expect(others).toEqual([]);
    const info = await engine.getContainer(first!.Id).inspect();
    expect(info.Config.User).toBe("65534:65534");
    expect(info.Config.Labels).toMatchObject({ "gantry.app": APP, "gantry.release": "1" });
    expect(info.HostConfig.Memory).toBe(128 * 1024 * 1024);
    expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(info.State.Pid).toBe(s.pid);
    // Its output reaches the instance's log file (and from there, gantry logs).
    const log = join(agentDir, "instances", a.id, "output.log");
    await eventually("output copied", () => readFileSync(log, "utf8").includes("listening on"));

    // Killed from outside: a crash, restarted by Gantry (the engine restarts nothing).
    await engine.getContainer(first!.Id).kill({ signal: "SIGKILL" });
    const again = await eventually(
      "restarted",
      inState(a.id, "running", (x) => x.restarts === 1),
      60_000,
    );
    expect(await get(again.port!)).toMatch(/^hello hi/);
    const restarted = await containersOf(a.id);
    expect(restarted).toHaveLength(1); // the killed one was removed
    expect(restarted[0]!.Id).not.toBe(first!.Id);

    // A restarted agent adopts the running container: same one, no second.
    await agent.stop();
    expect(await get(again.port!)).toMatch(/^hello hi/);
    agent = newAgent();
    await agent.joined;
    await eventually("adopted", () =>
      agentLog.some((l) => l.includes(`adopted ${a.id} (pid ${again.pid})`)) ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 1500));
    const after = await containersOf(a.id);
    expect(after.map((c) => [c.Id, c.State])).toEqual([[restarted[0]!.Id, "running"]]);
    expect(await eventually("reported", inState(a.id, "running"))).toMatchObject({
      pid: again.pid,
      port: again.port,
      restarts: 1,
    });
    // Each container's output is in the log once: the adopting agent resumed at the cursor.
    expect(readFileSync(log, "utf8").match(/listening on/g)).toHaveLength(2);

    // Unassigned: stopped and removed.
    await deleteAssignment(t, a);
    await eventually("removed", async () =>
      (await containersOf(a.id)).length === 0 ? true : undefined,
    );
  });

  it("says so in the instance's output when the node has no Docker engine", async () => {
    const node = "nodock";
    const dir = mkdtempSync(join(tmpdir(), "gantry-agent-nodock-"));
    const other = startAgent({
      client: new GantryClient({
        addr: t.url,
        token: (await t.clientWith(agentPolicies(node), `agent-${node}`)).secret,
      }),
      nodeName: node,
      dataDir: dir,
      wait: "2s",
      ttl: 5,
      log: () => undefined,
      runner: {
        tickMs: 200,
        dockerDriver: () => new DockerDriver({ engine: dockerEngine(join(dir, "no-docker.sock")) }),
      },
    });
    try {
      await other.joined;
      const a = newAssignment(APP, node, artifact, { runtime: "docker" });
      await putAssignment(t, a);
      const s = await eventually("refused", inState(a.id, "crashed"));
      expect(s.lastOutput.join("\n")).toContain(
        "gantry: cannot start: this node has no Docker engine (runtime docker)",
      );
      await deleteAssignment(t, a);
    } finally {
      await other.stop({ stopInstances: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
