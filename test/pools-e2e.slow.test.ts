/**
 * Issue 14's proof, as a user runs it: `gantry up` (a real process), a gantry.yaml with an
 * address plan, a 3-node `local` pool with a role and an app of three web instances, applied
 * with `gantry apply`. The nodes come up as 10.100.6.1-3 (`gantry nodes`, `gantry pools`), the
 * role converges on each (its file names the node's address), the app's instances spread over
 * them and answer through the router. One node's agent and its instances SIGKILLed: the pool
 * makes it again under its name and address within repairAfter + 10 s while the router serves
 * on without a failed request. `pools:scale web 5` and back to 2 (drained first, again without a
 * failed request); `pools:replace web web-1` rolls it (a new node first, 0 failed requests).
 * Half the pool killed at once with maxUnhealthy 40%: no repairs, and `gantry pools` says why.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PsEntry } from "../src/model/app-views.js";
import type { PoolView } from "../src/model/pool.js";
import { LocalProvider } from "../src/pools/local/index.js";
import { GANTRY_BIN, startGantry, type GantryProcess } from "./helpers/gantry.js";
import { eventually, get, routerPort, startLoad } from "./helpers/paas.js";

const HELLO_APP = resolve(import.meta.dirname, "fixtures/stack/apps/hello");
const HOST = "hello.pools.test";

let g: GantryProcess;
let work: string;
let stack: string;
let marks: string;
let port: number;

interface NodeEntry {
  name: string;
  status: string;
  pool?: string;
  address?: string;
  instances: number;
}

function gantryYaml(size: number): string {
  return `stack:
  name: pools-e2e
addressPlan:
  pattern: "10.{location}.{type}.{instance}"
  locations: { nz-por-1: 100 }
  types: { web: 6, db: 8 }
states: ./states
roles:
  web:
    states: [mark]
pools:
  web:
    provider: local
    size: ${size}
    min: 1
    max: 5
    location: nz-por-1
    type: web
    roles: [web]
    repairAfter: 2s
    maxUnhealthy: 40%
apps:
  hello:
    source: ./apps/hello
    formation: { web: 3 }
    domains: [${HOST}]
    deployTimeout: 90s
`;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-pools-e2e-"));
  marks = join(work, "marks");
  stack = join(work, "stack");
  mkdirSync(join(stack, "states"), { recursive: true });
  cpSync(HELLO_APP, join(stack, "apps", "hello"), { recursive: true });
  // The role writes a file named after the node's address: it ran on that node, with its facts.
  writeFileSync(
    join(stack, "states", "mark.yaml"),
    `resources:
  - directory: ${marks}
  - file: ${marks}/{{ facts.address }}
    content: "{{ facts.pool }} {{ facts.address }}\\n"
`,
  );
  writeFileSync(join(stack, "gantry.yaml"), gantryYaml(3));
  g = await startGantry();
  port = await routerPort(g);
  // `gantry up`'s own node takes no app instances here: the pool's nodes run the app.
  const own = (await nodes())[0]!.name;
  const drained = await g.cli(["nodes:drain", own]);
  expect(drained.code, drained.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await Promise.race([g.stop(), new Promise((r) => setTimeout(r, 20_000))]);
  // The nodes of a `local` pool outlive the server (a restarted one finds them): end them,
  // then remove the data directory they live in.
  const provider = new LocalProvider({
    root: join(g.dataDir, "pools", "local"),
    gantry: [process.execPath, GANTRY_BIN],
    stopGraceMs: 5000,
  });
  for (const n of await provider.list("web")) await provider.destroy(n.name);
  await g.cleanup();
  rmSync(work, { recursive: true, force: true });
}, 90_000);

async function cliJson<T>(args: string[]): Promise<T> {
  const r = await g.cli([...args, "--json"]);
  if (r.code !== 0) throw new Error(`gantry ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
const nodes = (): Promise<NodeEntry[]> => cliJson<NodeEntry[]>(["nodes"]);
const pool = (): Promise<PoolView> => cliJson<PoolView>(["pools:info", "web"]);
const ps = (): Promise<PsEntry[]> => cliJson<PsEntry[]>(["ps", "hello"]);

/** The pool's nodes once `n` are ready (status), as [name, address] pairs. */
async function readyNodes(n: number, ms: number): Promise<[string, string][]> {
  return eventually(
    `${n} ready nodes in pool web`,
    async () => {
      const p = await pool();
      const ready = (p.status?.nodes ?? []).filter((x) => x.phase === "ready");
      return p.status?.ready === n && ready.length === n && p.status.nodes.length === n
        ? ready.map((x): [string, string] => [x.name, x.address])
        : undefined;
    },
    ms,
  ).catch(async (e: Error) => {
    throw new Error(`${e.message}\n${JSON.stringify((await pool()).status, null, 1)}`);
  });
}

/** The app's web instances once `n` run and pass, all on nodes of `on`. */
function passingWeb(n: number, on: (node: string) => boolean, ms: number): Promise<PsEntry[]> {
  return eventually(
    `${n} passing web instances`,
    async () => {
      const up = (await ps()).filter(
        (p) => p.processType === "web" && p.state === "running" && p.health === "passing",
      );
      return up.length === n && up.every((p) => on(p.node)) ? up : undefined;
    },
    ms,
  );
}

/** SIGKILL a local node's agent and every instance it runs: the machine dies without a word. */
function killNode(name: string, instances: PsEntry[]): void {
  const root = join(g.dataDir, "pools", "local", name);
  const { pid } = JSON.parse(readFileSync(join(root, "agent.pid"), "utf8")) as { pid: number };
  process.kill(-pid, "SIGKILL");
  for (const p of instances.filter((x) => x.node === name && x.pid !== undefined))
    process.kill(-p.pid!, "SIGKILL");
}

describe("a local pool from gantry.yaml", () => {
  it("applies: three nodes on the address plan, converged, running the app", async () => {
    const applied = await g.cli(["apply", stack, "--auto-approve"], { timeoutMs: 180_000 });
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    const ready = await readyNodes(3, 60_000);
    expect(ready.sort()).toEqual([
      ["web-1", "10.100.6.1"],
      ["web-2", "10.100.6.2"],
      ["web-3", "10.100.6.3"],
    ]);
    const listed = (await nodes()).filter((n) => n.pool === "web");
    expect(listed.map((n) => [n.name, n.address, n.status]).sort()).toEqual([
      ["web-1", "10.100.6.1", "ready"],
      ["web-2", "10.100.6.2", "ready"],
      ["web-3", "10.100.6.3", "ready"],
    ]);
    expect((await g.cli(["nodes"])).stdout).toMatch(/^web-2 .*\bweb\b.*10\.100\.6\.2/m);
    // The role ran on each node with its address as a fact.
    for (const a of ["10.100.6.1", "10.100.6.2", "10.100.6.3"])
      expect(readFileSync(join(marks, a), "utf8")).toBe(`web ${a}\n`);

    const web = await passingWeb(3, (n) => n.startsWith("web-"), 90_000);
    expect(new Set(web.map((p) => p.node))).toEqual(new Set(["web-1", "web-2", "web-3"]));
    const res = await get(port, HOST);
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/^Hello from hello v1\n/);
    const table = (await g.cli(["pools"])).stdout;
    expect(table).toMatch(/^web +local +3 +3 /m);
  }, 240_000);

  it("replaces a killed node under its name and address; the router serves throughout", async () => {
    const before = await pool();
    const old = before.status!.nodes.find((n) => n.name === "web-2")!;
    const load = startLoad(port, HOST, { concurrency: 2, maxMs: 120_000 });
    await new Promise((r) => setTimeout(r, 500));
    killNode("web-2", await ps());
    const killedAt = Date.now();
    const replaced = await eventually(
      "web-2 made again and ready",
      async () => {
        const n = (await pool()).status?.nodes.find((x) => x.name === "web-2");
        return n?.phase === "ready" && n.createdAt !== old.createdAt ? n : undefined;
      },
      30_000,
    );
    const tookMs = Date.now() - killedAt;
    expect(replaced.address).toBe("10.100.6.2");
    // repairAfter (2 s) + 10 s.
    expect(tookMs).toBeLessThan(12_000);
    await passingWeb(3, (n) => n.startsWith("web-"), 60_000);
    const r = await load.stop();
    expect(r.failed, r.failures.join("\n")).toBe(0);
    expect(r.ok).toBeGreaterThan(50);
  }, 120_000);

  it("pools:scale web 5 adds two nodes; back to 2 drains before it destroys", async () => {
    const up = await g.cli(["pools:scale", "web", "5"]);
    expect(up.code, up.stderr).toBe(0);
    const five = await readyNodes(5, 60_000);
    expect(five.map(([, a]) => a).sort()).toEqual([1, 2, 3, 4, 5].map((i) => `10.100.6.${i}`));

    const load = startLoad(port, HOST, { concurrency: 2, maxMs: 120_000 });
    const down = await g.cli(["pools:scale", "web", "2"]);
    expect(down.code, down.stderr).toBe(0);
    const two = await readyNodes(2, 90_000);
    expect(two.map(([n]) => n).sort()).toEqual(["web-1", "web-2"]);
    await passingWeb(3, (n) => n === "web-1" || n === "web-2", 60_000);
    const r = await load.stop();
    expect(r.failed, r.failures.join("\n")).toBe(0);
    // The destroyed nodes' agents are gone, and they left the node list.
    const provider = new LocalProvider({ root: join(g.dataDir, "pools", "local") });
    expect((await provider.list("web")).map((n) => n.name)).toEqual(["web-1", "web-2"]);
  }, 240_000);

  it("pools:replace web web-1 rolls it: a new node ready first, then web-1 drained and gone", async () => {
    const load = startLoad(port, HOST, { concurrency: 2, maxMs: 120_000 });
    const replaced = await g.cli(["pools:replace", "web", "web-1"]);
    expect(replaced.code, replaced.stderr).toBe(0);
    const two = await eventually(
      "web-1 replaced by web-3",
      async () => {
        const nodes = (await pool()).status?.nodes ?? [];
        const names = nodes.map((n) => `${n.name} ${n.phase}`).sort();
        return names.join(",") === "web-2 ready,web-3 ready" ? nodes : undefined;
      },
      90_000,
    );
    expect(two.find((n) => n.name === "web-3")!.address).toBe("10.100.6.3");
    await passingWeb(3, (n) => n === "web-2" || n === "web-3", 60_000);
    const r = await load.stop();
    expect(r.failed, r.failures.join("\n")).toBe(0);
  }, 180_000);

  it("with half the pool killed at once (maxUnhealthy 40%) it repairs nothing and says why", async () => {
    const four = await g.cli(["pools:scale", "web", "4"]);
    expect(four.code, four.stderr).toBe(0);
    await readyNodes(4, 60_000);
    const before = (await pool()).status!.nodes;
    const instances = await ps();
    killNode("web-3", instances);
    killNode("web-4", instances);
    const halted = await eventually(
      "the pool to halt",
      async () => {
        const s = (await pool()).status;
        return s?.halted !== undefined ? s : undefined;
      },
      30_000,
    );
    expect(halted.halted).toMatch(/2 of 4/);
    expect(halted.halted).toMatch(/maxUnhealthy/);
    // Well past repairAfter: still no node made again.
    await new Promise((r) => setTimeout(r, 5000));
    const after = (await pool()).status!;
    for (const name of ["web-3", "web-4"]) {
      const was = before.find((n) => n.name === name)!;
      const now = after.nodes.find((n) => n.name === name)!;
      expect(now.createdAt).toBe(was.createdAt);
      expect(now.phase).not.toBe("ready");
    }
    expect(after.halted).toBeDefined();
    const table = (await g.cli(["pools"])).stdout;
    expect(table).toMatch(/maxUnhealthy/);
  }, 120_000);
});
