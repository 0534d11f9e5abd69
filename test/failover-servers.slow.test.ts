/**
 * Agents and routers that know several servers (issue 16; docs/ha.md, "Failover"): two
 * `gantry server`s on one etcd, an agent and a router given both (`--server A,B`). When A is
 * killed (-9), the agent's heartbeats go on through B — its node never leaves, though its lease
 * is 3 s — and the router follows the apps through B: an app created on B after A died is
 * routed.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEtcd, type EtcdServer } from "./helpers/etcd.js";
import { spawnCli, startGantry, type GantryProcess } from "./helpers/gantry.js";
import { eventually, get } from "./helpers/paas.js";
import { freePort } from "./helpers/ports.js";

let etcd: EtcdServer;
let a: GantryProcess;
let b: GantryProcess;
let work: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-failover-servers-"));
  etcd = await startEtcd();
  const store = `etcd://${etcd.endpoints.map((u) => u.replace(/^http:\/\//, "")).join(",")}`;
  a = await startGantry({ mode: "server", store, args: ["--no-registry"] });
  b = await startGantry({ mode: "server", store, args: ["--no-registry"] });
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await a?.cleanup();
  await b?.cleanup();
  await etcd?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

function follow(child: ChildProcess): () => string {
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  children.push(child);
  return () => out;
}

const nodesOn = async (g: GantryProcess): Promise<string[]> => {
  const res = await fetch(`${g.url}/v1/nodes`, { headers: { authorization: `Bearer ${g.token}` } });
  return ((await res.json()) as { name: string }[]).map((n) => n.name);
};

describe("several servers", () => {
  it("a killed server: the agent keeps its node through the other, the router follows it", async () => {
    const tok = await a.cli([
      "tokens",
      "create",
      "agent-n1",
      "--policy",
      "node:n1:write",
      "--policy",
      "service::write",
      "--json",
    ]);
    expect(tok.code, tok.stderr).toBe(0);
    const tokenFile = join(work, "agent.token");
    writeFileSync(tokenFile, (JSON.parse(tok.stdout) as { secret: string }).secret + "\n", {
      mode: 0o600,
    });
    const env = { GANTRY_TOKEN: "", GANTRY_ADDR: "", GANTRY_DATA_DIR: join(work, "home") };
    const agentOut = follow(
      spawnCli(
        [
          "agent",
          "--server",
          `${a.url},${b.url}`,
          "--token-file",
          tokenFile,
          "--node-name",
          "n1",
          "--data-dir",
          join(work, "n1"),
        ],
        env,
      ),
    );
    await eventually("the agent to join through A", () =>
      agentOut().includes(`joined   ${a.url} as n1`) ? true : undefined,
    );
    const httpPort = await freePort();
    const routerOut = follow(
      spawnCli(
        [
          "router",
          "--server",
          `${a.url},${b.url}`,
          "--http-addr",
          `127.0.0.1:${httpPort}`,
          "--https-addr",
          `127.0.0.1:${await freePort()}`,
          "--workers",
          "0",
        ],
        { ...env, GANTRY_TOKEN: a.token },
      ),
    );
    await eventually("the router to listen", () =>
      routerOut().includes("router on") ? true : undefined,
    );
    expect(await nodesOn(b)).toContain("n1");

    // Watch the node from B, every 100 ms, from before A dies until well after its lease.
    const absent: number[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        if (!(await nodesOn(b)).includes("n1")) absent.push(Date.now());
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await a.kill();
    const killedAt = Date.now();
    // An app made on B after A died: the router, which was reading through A, learns of it.
    expect((await b.cli(["apps:create", "late"])).code).toBe(0);
    const routed = await eventually(
      "the router to know the app made on B",
      async () => ((await get(httpPort, "late.localhost")).status === 503 ? Date.now() : undefined),
      15_000,
    );
    // Three times the node's lease.
    await new Promise((r) => setTimeout(r, Math.max(0, killedAt + 9000 - Date.now())));
    watching = false;
    await watch;
    console.log(
      `several servers: router following B ${((routed - killedAt) / 1000).toFixed(1)} s after A was killed; node n1 absent from B's list ${absent.length} times in 9 s`,
    );
    expect(absent).toEqual([]);
    expect(agentOut()).not.toContain("lost its lease");
    expect((await get(httpPort, "late.localhost")).body).toContain(
      "no passing instance of app late",
    );
  }, 120_000);
});
