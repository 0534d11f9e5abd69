/**
 * Two nodes: a second `gantry agent` process joins `gantry up` with a node token made by
 * `gantry tokens create`, and `ps:scale web=4` spreads the app's instances over both nodes; the
 * router serves from all of them. Then the second node dies (agent and instances SIGKILLed):
 * once its lease and the grace have passed, its instances start again on the live node, under
 * the same names, while the router serves on without one failed request. A node frozen for a
 * while stops its replaced instances when it thaws, and a drained node hands its instances over
 * (replacement first) without a failed request.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PsEntry } from "../src/model/app-views.js";
import type { NodeListEntry } from "../src/model/node.js";
import { spawnCli, startGantry, type GantryProcess } from "./helpers/gantry.js";
import {
  alive,
  eventually,
  get,
  HELLO,
  localRepo,
  push,
  routerPort,
  stopGantry,
  startLoad,
  withToken,
  nodeTokenFile,
} from "./helpers/paas.js";

const NODE2 = "node-2";

let g: GantryProcess;
let work: string;
let port: number;
let agent: ChildProcess | undefined;
let agentOut = "";

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-2n-"));
  g = await startGantry();
  port = await routerPort(g);
});
afterAll(async () => {
  if (agent !== undefined && agent.exitCode === null && agent.signalCode === null) {
    const exited = new Promise((r) => agent!.once("exit", r));
    agent.kill("SIGINT");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (agent.exitCode === null) agent.kill("SIGKILL");
  }
  await stopGantry(g);
  rmSync(work, { recursive: true, force: true });
});

/** Start `gantry agent` as node-2 (its data dir kept across restarts) and wait until it joins. */
async function startAgent2(tokenFile: string): Promise<void> {
  agentOut = "";
  agent = spawnCli(
    [
      "agent",
      "--server",
      g.url,
      "--token-file",
      tokenFile,
      "--node-name",
      NODE2,
      "--data-dir",
      join(work, "agent2"),
      "--stop-instances",
    ],
    { GANTRY_TOKEN: "", GANTRY_ADDR: "", GANTRY_DATA_DIR: join(work, "home") },
  );
  agent.stdout!.on("data", (d: Buffer) => (agentOut += d.toString()));
  agent.stderr!.on("data", (d: Buffer) => (agentOut += d.toString()));
  await eventually("the agent to join", async () =>
    agentOut.includes(`as ${NODE2}`) ? true : undefined,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${agentOut}`);
  });
}

const ps = async (): Promise<PsEntry[]> =>
  JSON.parse((await g.cli(["ps", "hello", "--json"])).stdout) as PsEntry[];

const nodeList = async (): Promise<NodeListEntry[]> =>
  JSON.parse((await g.cli(["nodes", "--json"])).stdout) as NodeListEntry[];

/** The app's web instances once `n` of them run and pass, all satisfying `where`. */
function passingWeb(n: number, where: (p: PsEntry) => boolean, ms = 60_000): Promise<PsEntry[]> {
  return eventually(
    `${n} passing web instances`,
    async () => {
      const up = (await ps()).filter(
        (p) => p.processType === "web" && p.state === "running" && p.health === "passing",
      );
      return up.length === n && up.every(where) ? up : undefined;
    },
    ms,
  ).catch(async (e: Error) => {
    throw new Error(`${e.message}\n${(await g.cli(["ps", "hello"])).stdout}\nagent:\n${agentOut}`);
  });
}

describe("two nodes", () => {
  it("a second agent joins and ps:scale web=4 spreads instances over both nodes", async () => {
    const created = await g.cli(["apps:create", "hello", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const { gitUrl } = JSON.parse(created.stdout) as { gitUrl: string };
    const pushed = await push(await localRepo(work, HELLO), withToken(gitUrl, g.token));
    expect(pushed.code, pushed.stderr).toBe(0);
    const localNode = (JSON.parse((await g.cli(["ps", "hello", "--json"])).stdout) as PsEntry[])[0]!
      .node;

    const tokenFile = await nodeTokenFile(g, NODE2, work);
    await startAgent2(tokenFile);
    const nodes = await eventually("both nodes registered", async () => {
      const res = await fetch(`${g.url}/v1/nodes`, {
        headers: { authorization: `Bearer ${g.token}` },
      });
      const names = ((await res.json()) as { name: string }[]).map((n) => n.name);
      return names.includes(NODE2) && names.includes(localNode) ? names : undefined;
    });
    expect(nodes).toContain(NODE2);

    const load = startLoad(port, "hello.localhost", { concurrency: 2, maxMs: 60_000 });
    const scaled = await g.cli(["ps:scale", "hello", "web=4"]);
    expect(scaled.code, scaled.stderr).toBe(0);
    const web = await passingWeb(4, () => true, 40_000);
    const perNode = new Map<string, number>();
    for (const p of web) perNode.set(p.node, (perNode.get(p.node) ?? 0) + 1);
    expect(Object.fromEntries(perNode)).toEqual({ [localNode]: 2, [NODE2]: 2 });
    const listed = (await nodeList()).map((n) => [n.name, n.status, n.instances]);
    expect(listed).toEqual(
      [
        [localNode, "ready", 2],
        [NODE2, "ready", 2],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    // The router sends traffic to all four: each answer comes from one of them.
    await new Promise((r) => setTimeout(r, 1500));
    const r = await load.stop();
    expect(r.failed, r.failures.join("\n")).toBe(0);
    expect(r.ok).toBeGreaterThan(20);
    expect((await get(port, "hello.localhost")).body).toBe("Hello from hello\n");
    // The second node's instances serve on their own ports.
    for (const p of web.filter((x) => x.node === NODE2)) {
      const res = await fetch(`http://127.0.0.1:${p.port}/`);
      expect(await res.text()).toBe("Hello from hello\n");
    }
  }, 120_000);

  it("when a node dies, its instances start again on the live node, and no request fails", async () => {
    const before = (await ps()).filter((p) => p.processType === "web");
    const onNode2 = before.filter((p) => p.node === NODE2);
    expect(onNode2).toHaveLength(2);
    const localNode = before.find((p) => p.node !== NODE2)!.node;

    const load = startLoad(port, "hello.localhost", { concurrency: 2, maxMs: 90_000 });
    // The machine dies: its agent and its instances are gone at once, without a word.
    agent!.kill("SIGKILL");
    for (const p of onNode2) process.kill(-p.pid!, "SIGKILL");
    const killedAt = Date.now();

    // Once its lease runs out, ps says the node is down (what it shows is what it last said).
    await eventually(
      "node-2 shown down",
      async () => {
        const there = (await ps()).filter((p) => p.node === NODE2);
        return there.length === 2 && there.every((p) => p.nodeDown === true) ? true : undefined;
      },
      30_000,
    );
    expect((await g.cli(["ps", "hello"])).stdout).toMatch(/^web\.\d +\S+ +v1 +node-2 \(down\)/m);
    expect((await g.cli(["nodes"])).stdout).toMatch(/^node-2 +down +2 /m);

    const after = await passingWeb(4, (p) => p.node === localNode);
    const tookMs = Date.now() - killedAt;
    // The node's lease (3 s, its last heartbeat up to 1 s before the kill) and the grace before
    // its instances count as lost (3 s): not before both (test/failover-fast.slow.test.ts times
    // the whole of it).
    expect(tookMs).toBeGreaterThan(4_500);
    expect(after.map((p) => p.name).sort()).toEqual(["web.1", "web.2", "web.3", "web.4"]);
    const r = await load.stop();
    expect(r.failed, r.failures.join("\n")).toBe(0);
    expect(r.ok).toBeGreaterThan(50);
    // Holding nothing any more, the dead node leaves the list; its catalog entries went with
    // its instances: nothing stale is left behind.
    expect((await nodeList()).map((n) => n.name)).toEqual([localNode]);
    const res = await fetch(`${g.url}/v1/catalog/service/hello`, {
      headers: { authorization: `Bearer ${g.token}` },
    });
    const entries = (await res.json()) as { id: string; node: string }[];
    expect(entries.map((e) => e.node)).toEqual([localNode, localNode, localNode, localNode]);
    const logs = await g.cli(["logs", "hello", "--ps", "deploy", "-n", "1000"]);
    expect(logs.stdout).toMatch(/lost web\.\d, web\.\d: node node-2 \(gone \d+ s\)/);
    expect(logs.stdout).toMatch(/replacing: starting web\.\d on /);
  }, 120_000);

  it("a node cut off for a while has its instances replaced, and stops them when it is back", async () => {
    const localNode = (await ps())[0]!.node;
    // The dead node's machine comes back: its agent, restarted on the same data dir, joins again.
    await startAgent2(join(work, "agent.token"));
    const scaled = await g.cli(["ps:scale", "hello", "web=6"]);
    expect(scaled.code, scaled.stderr).toBe(0);
    const six = await passingWeb(6, () => true);
    const onNode2 = six.filter((p) => p.node === NODE2);
    expect(onNode2.map((p) => p.name).sort()).toEqual(["web.5", "web.6"]);

    // A one-off goes to the node with the fewest of the app's instances: node-2.
    const oneoff = spawnCli(["run", "hello", "--", "sleep", "600"], g.env);
    let oneoffErr = "";
    oneoff.stderr!.on("data", (d: Buffer) => (oneoffErr += d.toString()));
    const oneoffExit = new Promise<number | null>((r) => oneoff.once("exit", (code) => r(code)));
    await eventually("the one-off running on node-2", async () =>
      (await ps()).some((p) => p.kind === "oneoff" && p.node === NODE2 && p.state === "running")
        ? true
        : undefined,
    );

    // Cut off (frozen, its instances still running): once its lease and the grace have passed,
    // web.5 and web.6 start again on the live node, and `gantry run` says what happened.
    const load = startLoad(port, "hello.localhost", { concurrency: 2, maxMs: 90_000 });
    agent!.kill("SIGSTOP");
    try {
      await passingWeb(6, (p) => p.node === localNode);
      expect(await oneoffExit).toBe(1);
      expect(oneoffErr).toMatch(/run\.\d+ was running on node node-2, which went down/);
    } finally {
      agent!.kill("SIGCONT");
    }
    // Back, it finds it no longer holds them: it stops them.
    await eventually("node-2's old instances to stop", () =>
      onNode2.every((p) => !alive(p.pid!)) ? true : undefined,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nagent:\n${agentOut}`);
    });
    const r = await load.stop();
    expect(r.failed, r.failures.join("\n")).toBe(0);
    expect((await ps()).filter((p) => p.node === NODE2 && p.kind === "run")).toEqual([]);
  }, 150_000);

  it("nodes:drain moves a node's instances off it without a failed request; --undo takes it back", async () => {
    const localNode = (await ps()).find((p) => p.node !== NODE2)!.node;
    const scaled = await g.cli(["ps:scale", "hello", "web=8"]);
    expect(scaled.code, scaled.stderr).toBe(0);
    const eight = await passingWeb(8, () => true);
    const onNode2 = eight.filter((p) => p.node === NODE2).map((p) => p.name);
    expect(onNode2.length).toBeGreaterThan(0);

    const load = startLoad(port, "hello.localhost", { concurrency: 2, maxMs: 90_000 });
    const drain = await g.cli(["nodes:drain", NODE2]);
    expect(drain.code, drain.stderr).toBe(0);
    expect(drain.stdout).toContain(`draining ${NODE2}: its instances start on other nodes`);
    expect((await nodeList()).find((n) => n.name === NODE2)?.status).toBe("draining");
    // Every instance runs on the other node, under the same names, and node-2 holds none.
    const after = await passingWeb(8, (p) => p.node === localNode);
    expect(after.map((p) => p.name).sort()).toEqual(eight.map((p) => p.name).sort());
    // (The one-off left running there by the test above stays: drains move no one-offs.)
    await eventually("node-2 to hold no web instance", async () =>
      (await ps()).some((p) => p.node === NODE2 && p.kind === "run") ? undefined : true,
    );
    const r = await load.stop();
    expect(r.failed, r.failures.join("\n")).toBe(0);
    const logs = await g.cli(["logs", "hello", "--ps", "deploy", "-n", "1000"]);
    expect(logs.stdout).toMatch(/moving: starting web\.\d on /);
    expect(logs.stdout).toMatch(/draining web\.\d on node-2 \(node draining\)/);

    const undo = await g.cli(["nodes:drain", NODE2, "--undo"]);
    expect(undo.code, undo.stderr).toBe(0);
    expect(undo.stdout).toContain(`${NODE2} takes new instances again`);
    expect((await nodeList()).find((n) => n.name === NODE2)?.status).toBe("ready");
    const bad = await g.cli(["nodes:drain", "no such node!"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("node: must be letters, digits");
    const ghost = await g.cli(["nodes:drain", "ghost-1"]);
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toContain('node "ghost-1" not found');
  }, 150_000);
});
