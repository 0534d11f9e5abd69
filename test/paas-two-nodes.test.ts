/**
 * Two nodes: a second `gantry agent` process joins `gantry up` with a node token made by
 * `gantry tokens create`, and `ps:scale web=4` spreads the app's instances over both nodes; the
 * router serves from all of them.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PsEntry } from "../src/model/app-views.js";
import { spawnCli, startGantry, type GantryProcess } from "./helpers/gantry.js";
import {
  eventually,
  get,
  HELLO,
  localRepo,
  push,
  routerPort,
  stopGantry,
  startLoad,
  withToken,
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
  if (agent !== undefined && agent.exitCode === null) {
    const exited = new Promise((r) => agent!.once("exit", r));
    agent.kill("SIGINT");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (agent.exitCode === null) agent.kill("SIGKILL");
  }
  await stopGantry(g);
  rmSync(work, { recursive: true, force: true });
});

describe("two nodes", () => {
  it("a second agent joins and ps:scale web=4 spreads instances over both nodes", async () => {
    const created = await g.cli(["apps:create", "hello", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const { gitUrl } = JSON.parse(created.stdout) as { gitUrl: string };
    const pushed = await push(await localRepo(work, HELLO), withToken(gitUrl, g.token));
    expect(pushed.code, pushed.stderr).toBe(0);
    const localNode = (JSON.parse((await g.cli(["ps", "hello", "--json"])).stdout) as PsEntry[])[0]!
      .node;

    // A node token like the local agent's: node:<name>:write and service::write.
    const tok = await g.cli([
      "tokens",
      "create",
      `agent-${NODE2}`,
      "--policy",
      `node:${NODE2}:write`,
      "--policy",
      "service::write",
      "--json",
    ]);
    expect(tok.code, tok.stderr).toBe(0);
    const tokenFile = join(work, "agent.token");
    writeFileSync(tokenFile, (JSON.parse(tok.stdout) as { secret: string }).secret + "\n", {
      mode: 0o600,
    });
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
    const web = await eventually(
      "4 passing web instances",
      async () => {
        const list = JSON.parse((await g.cli(["ps", "hello", "--json"])).stdout) as PsEntry[];
        const up = list.filter(
          (p) => p.processType === "web" && p.state === "running" && p.health === "passing",
        );
        return up.length === 4 ? up : undefined;
      },
      40_000,
    ).catch(async (e: Error) => {
      throw new Error(
        `${e.message}\n${(await g.cli(["ps", "hello"])).stdout}\nagent:\n${agentOut}`,
      );
    });
    const perNode = new Map<string, number>();
    for (const p of web) perNode.set(p.node, (perNode.get(p.node) ?? 0) + 1);
    expect(Object.fromEntries(perNode)).toEqual({ [localNode]: 2, [NODE2]: 2 });
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
});
