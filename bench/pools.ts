/**
 * `npm run bench:pools` — node pools (issue 14): how long a 10-node `local` pool takes from
 * `gantry apply` to all ten nodes ready, and how long a dead node takes to be ready again.
 *
 * - ready10: a fresh `gantry up`; a gantry.yaml with an address plan and a 10-node `local` pool
 *   (each node a real `gantry agent` process with its own data dir, joined to the server);
 *   timed from the start of `gantry apply --auto-approve` (a whole CLI process; apply waits for
 *   the pool's nodes) until `gantry pools` reports 10 of 10 ready.
 * - repair: with `repairAfter: 2s`, one node's agent SIGKILLed; timed until the pool reports
 *   that node ready again (made again under its name and address). Median of BENCH_REPAIRS
 *   (default 3), a different node each time.
 *
 * There is no peer to run beside it offline; the anchors are the health-check grace periods of
 * the tools this replaces: AWS auto-scaling 300 s, Cluster API's MachineHealthCheck example
 * 300 s, GKE node auto-repair ~15 min. Targets: ready10 <= 10 s, repair <= repairAfter + 5 s.
 * Gantry runs from dist/ (`npm run build` first). The last line is the summary.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PoolView } from "../src/model/pool.js";
import { LocalProvider } from "../src/pools/local/index.js";
import { GANTRY_BIN, startGantry, type GantryProcess } from "../test/helpers/gantry.js";

const NODES = Number(process.env["BENCH_NODES"] ?? 10);
const REPAIRS = Number(process.env["BENCH_REPAIRS"] ?? 3);
const REPAIR_AFTER_S = 2;

const stackYaml = `stack:
  name: bench-pools
addressPlan:
  pattern: "10.{location}.{type}.{instance}"
  locations: { nz-por-1: 100 }
  types: { web: 6 }
pools:
  web:
    provider: local
    size: ${NODES}
    location: nz-por-1
    type: web
    repairAfter: ${REPAIR_AFTER_S}s
    maxUnhealthy: 40%
`;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const secs = (ms: number): string => (ms / 1000).toFixed(1);

/** Run the CLI against `g` as a whole process; resolves with its exit code and output. */
function cli(
  g: GantryProcess,
  args: string[],
  cwd: string,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [GANTRY_BIN, ...args], {
      cwd,
      env: { ...process.env, ...g.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    p.stdout.on("data", (c: Buffer) => (out += c.toString()));
    p.stderr.on("data", (c: Buffer) => (out += c.toString()));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code: code ?? -1, out }));
  });
}

async function pool(g: GantryProcess): Promise<PoolView> {
  const res = await fetch(`${g.url}/v1/pools/web`, {
    headers: { authorization: `Bearer ${g.token}` },
  });
  if (!res.ok) throw new Error(`GET /v1/pools/web: ${res.status} ${await res.text()}`);
  return (await res.json()) as PoolView;
}

/** Poll the pool's status (every 20 ms) until `ok`; the time it became true. */
async function until(g: GantryProcess, what: string, ok: (p: PoolView) => boolean, ms: number) {
  const deadline = Date.now() + ms;
  for (;;) {
    const p = await pool(g);
    if (ok(p)) return performance.now();
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(p.status, null, 1)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "gantry-bench-pools-"));
  writeFileSync(join(work, "gantry.yaml"), stackYaml);
  const g = await startGantry();
  const root = join(g.dataDir, "pools", "local");
  try {
    const started = performance.now();
    const applied = await cli(g, ["apply", "--auto-approve"], work);
    if (applied.code !== 0) throw new Error(`gantry apply exited ${applied.code}:\n${applied.out}`);
    const readyAt = await until(g, `${NODES} ready`, (p) => p.status?.ready === NODES, 60_000);
    const ready10 = readyAt - started;
    console.log(
      `ready${NODES}: ${secs(ready10)} s from gantry apply to ${NODES} of ${NODES} ready`,
    );

    const repairs: number[] = [];
    for (let i = 0; i < REPAIRS; i++) {
      const name = `web-${2 + ((i * 3) % NODES)}`;
      const before = (await pool(g)).status!.nodes.find((n) => n.name === name)!;
      const { pid } = JSON.parse(readFileSync(join(root, name, "agent.pid"), "utf8")) as {
        pid: number;
      };
      const killedAt = performance.now();
      process.kill(-pid, "SIGKILL");
      const back = await until(
        g,
        `${name} made again`,
        (p) => {
          const n = p.status?.nodes.find((x) => x.name === name);
          return (
            n?.phase === "ready" && n.createdAt !== before.createdAt && p.status!.ready === NODES
          );
        },
        60_000,
      );
      repairs.push(back - killedAt);
      const again = (await pool(g)).status!.nodes.find((n) => n.name === name)!;
      console.log(
        `repair ${i + 1}: ${name} (${again.address}) ready again ${secs(back - killedAt)} s after its agent was killed (repairAfter ${REPAIR_AFTER_S} s)`,
      );
    }
    // A frozen agent (SIGSTOP: its process still there, its heartbeat gone): found down when
    // its lease ends (the node TTL), replaced repairAfter later.
    const frozen = `web-${NODES}`;
    const was = (await pool(g)).status!.nodes.find((n) => n.name === frozen)!;
    const { pid: fpid } = JSON.parse(readFileSync(join(root, frozen, "agent.pid"), "utf8")) as {
      pid: number;
    };
    const frozenAt = performance.now();
    process.kill(fpid, "SIGSTOP");
    const thawed = await until(
      g,
      `${frozen} made again`,
      (p) => {
        const n = p.status?.nodes.find((x) => x.name === frozen);
        return n?.phase === "ready" && n.createdAt !== was.createdAt;
      },
      90_000,
    );
    console.log(
      `frozen: ${frozen} ready again ${secs(thawed - frozenAt)} s after its agent was stopped (SIGSTOP; node TTL 3 s + repairAfter ${REPAIR_AFTER_S} s)`,
    );
    const repair = median(repairs);
    console.log(
      `targets: ready${NODES} <= 10 s, repair <= repairAfter + 5 s = ${REPAIR_AFTER_S + 5} s; anchors: AWS ASG health-check grace 300 s, Cluster API example 300 s, GKE ~15 min`,
    );
    console.log(`pools: ready${NODES}=${secs(ready10)}s repair=${secs(repair)}s`);
  } finally {
    await Promise.race([g.stop(), new Promise((r) => setTimeout(r, 20_000))]);
    const provider = new LocalProvider({ root, gantry: [process.execPath, GANTRY_BIN] });
    await Promise.all((await provider.list("web")).map((n) => provider.destroy(n.name)));
    await g.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
