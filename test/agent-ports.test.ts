/**
 * Instance ports (issue 19): an in-process agent with a small port range of its own and real
 * processes. Ports other programs hold are skipped; an instance whose port is taken between the
 * pick and its bind moves to a new port at once (no crash, no backoff); a restarted agent keeps
 * its instances' ports; a range inside the kernel's ephemeral ports is refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type Agent } from "../src/agent/agent.js";
import { readEphemeralPorts, type PortRange } from "../src/agent/apps/port-range.js";
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
import { appTarball, storeArtifact } from "./helpers/tarball.js";

const NODE = "porty";
const APP = "ports";
/** Few ports, so that the test knows them all; above the default range's usual start. */
const RANGE: PortRange = { first: 31990, last: 31993 };
const PORTS = [31990, 31991, 31992, 31993];

/** Listens on PORT only once `../go` exists (the test takes the port in between). */
const LATE_JS = `
const fs = require("node:fs");
const http = require("node:http");
const port = Number(process.env.PORT);
(function wait() {
  if (!fs.existsSync("../go")) return setTimeout(wait, 10);
  http.createServer((q, s) => s.end("late " + port)).listen(port, "127.0.0.1", () => console.log("listening on " + port));
})();
process.on("SIGTERM", () => process.exit(0));
`;

let t: TestApi;
let agentDir: string;
let artifact: string;
let agent: Agent;
let client: GantryClient;
const agentLog: string[] = [];
const squatters: Server[] = [];

function newAgent(): Agent {
  return startAgent({
    client,
    nodeName: NODE,
    dataDir: agentDir,
    portRange: RANGE,
    wait: "2s",
    log: (l) => agentLog.push(l),
    // Two seconds before "running": the test sees the moved instance while it starts.
    runner: { stopGraceMs: 1000, tickMs: 200, runningAfterMs: 2000 },
  });
}

beforeAll(async () => {
  t = await startTestApi();
  agentDir = mkdtempSync(join(tmpdir(), "gantry-agent-ports-"));
  const secret = (await t.clientWith(agentPolicies(NODE), `agent-${NODE}`)).secret;
  client = new GantryClient({ addr: t.url, token: secret });
  await seedApp(t, APP);
  artifact = storeArtifact(t.dataDir, appTarball({ ...APP_FILES, "late.js": LATE_JS }));
  agent = newAgent();
  await agent.joined;
});

afterEach(async () => {
  await Promise.all(squatters.splice(0).map((s) => new Promise((r) => s.close(r))));
});

afterAll(async () => {
  await agent?.stop({ stopInstances: true });
  await t?.close();
  rmSync(agentDir, { recursive: true, force: true });
});

const assignment = (fields: Partial<Assignment> = {}): Assignment =>
  newAssignment(APP, NODE, artifact, fields);
const status = (id: string) => instanceStatus(t, id);
const inState =
  (id: string, state: InstanceStatus["state"], extra = (_s: InstanceStatus) => true) =>
  async () => {
    const s = await status(id);
    return s?.state === state && extra(s) ? s : undefined;
  };

/** Another program holding `port` on 127.0.0.1 (undefined when something already holds it). */
function squat(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const srv = createServer((conn) => conn.destroy());
    srv.once("error", () => resolve(undefined));
    srv.listen(port, "127.0.0.1", () => {
      squatters.push(srv);
      resolve(srv);
    });
  });
}

/** Remove the assignment and wait until the agent has stopped and forgotten the instance. */
async function unassign(a: Assignment): Promise<void> {
  await deleteAssignment(t, a);
  await eventually("removed", () =>
    agentLog.some((l) => l.includes(`removed ${a.id}`)) ? true : undefined,
  );
}

/** What the agent logged about the instance crashing. */
const crashed = (id: string): string[] =>
  agentLog.filter((l) => l.includes(id) && /exited with|crash/.test(l));
/** What the agent logged about moving the instance's port. */
const moves = (id: string): string[] =>
  agentLog.filter((l) => l.includes(id) && l.includes("was taken by another program"));

describe("instance ports", () => {
  it("come from the agent's range, skipping ports other programs hold", async () => {
    // The first instance shows where the agent's line of ports begins; released, its port goes
    // to the back of the line.
    const warm = assignment();
    await putAssignment(t, warm);
    const start = (await eventually("running", inState(warm.id, "running"))).port!;
    expect(PORTS).toContain(start);
    await unassign(warm);
    const line = [1, 2, 3, 4].map((i) => PORTS[(PORTS.indexOf(start) + i) % PORTS.length]!);
    expect(line.at(-1)).toBe(start);

    // Other programs hold the next two: the instance gets the third, at once.
    expect(await squat(line[0]!)).toBeDefined();
    expect(await squat(line[1]!)).toBeDefined();
    const a = assignment();
    await putAssignment(t, a);
    const s = await eventually("running", inState(a.id, "running"));
    expect(s).toMatchObject({ port: line[2], restarts: 0 });
    expect(await (await fetch(`http://127.0.0.1:${line[2]}/`)).text()).toMatch(/^hello hi/);
    // Skipped before the start: never handed out, so never moved away from.
    expect(moves(a.id)).toEqual([]);
    expect(crashed(a.id)).toEqual([]);
    await unassign(a);
  });

  it("move when another program takes one before the app binds it: at once, not a crash", async () => {
    const a = assignment({ command: "node late.js" });
    await putAssignment(t, a);
    const first = await eventually("started, waiting to bind", async () => {
      const s = await status(a.id);
      return s?.pid !== undefined && s.port !== undefined ? s : undefined;
    });
    const from = first.port!;
    expect(PORTS).toContain(from);
    expect(await squat(from)).toBeDefined();
    const goAt = Date.now();
    writeFileSync(join(agentDir, "instances", a.id, "go"), "");

    const moved = await eventually(
      "moved",
      async () => {
        const s = await status(a.id);
        return s?.portMoved !== undefined ? s : undefined;
      },
      5000,
    );
    const to = moved.portMoved!.to;
    expect(moved.portMoved).toMatchObject({ from, to });
    expect(to).not.toBe(from);
    expect(PORTS).toContain(to);
    expect(moved).toMatchObject({ port: to, state: "starting", restarts: 0 });
    expect(moved.restartAt).toBeUndefined(); // no backoff to wait out
    const line = `gantry: port ${from} was taken by another program; moved to ${to}`;
    expect(moved.lastOutput.at(-1)).toBe(line);
    expect(moved.lastOutput.join("\n")).toMatch(new RegExp(`EADDRINUSE.*${from}`));

    const running = await eventually("running on the new port", inState(a.id, "running"));
    expect(running).toMatchObject({ port: to, restarts: 0 });
    expect(running.portMoved).toBeUndefined(); // said while it mattered; a running one is fine
    // Started again within a second of its failed bind: no crash backoff (1 s at the least).
    expect(Date.parse(running.startedAt!) - goAt).toBeLessThan(1000);
    expect(await (await fetch(`http://127.0.0.1:${to}/`)).text()).toBe(`late ${to}`);
    expect(moves(a.id)).toEqual([
      expect.stringContaining(`port ${from} was taken by another program; moved to ${to}`),
    ]);
    expect(crashed(a.id)).toEqual([]);
    await eventually("the move in the app's logs", async () => {
      const res = await t.admin.request("GET", `/v1/apps/${APP}/logs`, { query: { tail: 1000 } });
      return (await res.text()).includes(`web.1 ${line}`) ? true : undefined;
    });
    await unassign(a);
  });

  it("stay with their instances across an agent restart, and are not handed out again", async () => {
    // A worker that never binds its port: only the agent's own records keep it from reuse.
    const a = assignment({ processType: "worker", command: "node stubborn.js" });
    await putAssignment(t, a);
    const s = await eventually("running", inState(a.id, "running"));
    await agent.stop(); // leaves it running
    agent = newAgent();
    await agent.joined;
    await eventually("adopted", () =>
      agentLog.some((l) => l.includes(`adopted ${a.id}`)) ? true : undefined,
    );
    const others = PORTS.filter((p) => p !== s.port).map((_, i) =>
      assignment({ processType: "worker", index: i + 2, command: "node stubborn.js" }),
    );
    for (const b of others) await putAssignment(t, b);
    const ports = await Promise.all(
      others.map(async (b) => (await eventually("running", inState(b.id, "running"))).port!),
    );
    expect(new Set([s.port, ...ports]).size).toBe(PORTS.length);
    expect([s.port, ...ports].sort()).toEqual(PORTS);
    expect((await status(a.id))?.port).toBe(s.port);
    for (const b of [a, ...others]) await unassign(b);
  });
});

describe("the agent's port range", () => {
  it("is refused when it overlaps the kernel's ephemeral ports, naming both", () => {
    const eph = readEphemeralPorts();
    if (eph === undefined) return; // no /proc: nothing to check against
    const overlapping = { first: Math.max(1024, eph.range.first - 10), last: eph.range.first + 10 };
    expect(() =>
      startAgent({ client, nodeName: "never", dataDir: agentDir, portRange: overlapping }),
    ).toThrow(
      `the instance port range ${overlapping.first}-${overlapping.last} overlaps the kernel's ephemeral port range ${eph.range.first}-${eph.range.last}`,
    );
  });
});
