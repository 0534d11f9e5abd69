/**
 * `npm run bench:scheduler` — scheduling at scale (issue 16; docs/scheduler.md).
 *
 * - place1M: 1,000,000 placements (1,000 apps × 1,000 instances) over 5,000 simulated nodes
 *   (labels role and location, 64 CPUs and 256 GiB each); every app reserves CPU and memory, every
 *   other app is constrained to role=web and spread across locations. The plan (src/scheduler/,
 *   one placement index for the whole plan) is computed, then committed as real assignment
 *   records in transactions of at most 128 operations (create-only), once to the embedded SQLite
 *   store and once to a real etcd (test/helpers/etcd.ts starts one; BENCH_ETCD=0 skips it).
 *   place1M = plan + the slower of the two commits.
 * - growth: the cost per placement as the cluster grows: BENCH_GROWTH placements (default
 *   200,000) over 500, 5,000 and 50,000 nodes, the plan's index included (median of 5 runs,
 *   interleaved); growth = cost at 50,000 / cost at 5,000.
 * - watch10k: one real API server (in this process, embedded store), 10,000 simulated agents in
 *   a child process (bench/scheduler-agents.ts), each holding one blocking query on its node's
 *   assignments over its own HTTP connection; BENCH_WRITES (default 500) assignments written
 *   one at a time to random nodes; p99 of write → that agent's answer. The child and this
 *   process each need ~10,000 file descriptors (`ulimit -n` 20000 here; the script raises
 *   nothing: on a lower limit, raise it or set BENCH_AGENTS).
 *
 * Targets: place1M < 60 s (Nomad's C1M: 1M containers on 5,000 hosts in under 5 min), growth
 * <= 2x, watch10k-p99 <= 50 ms. The last line is the summary.
 */
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster } from "../src/scheduler/cluster.js";
import { placeMany } from "../src/scheduler/sample.js";
import { batches } from "../src/scheduler/batches.js";
import { MAX_TXN_OPS } from "../src/store/limits.js";
import { openSqliteStore } from "../src/store/sqlite/index.js";
import { openEtcdStore } from "../src/store/etcd/index.js";
import type { Store } from "../src/store/types.js";
import { text } from "../src/store/values.js";
import { startEtcd } from "../test/helpers/etcd.js";
import { startTestApi } from "../test/helpers/api.js";
import { assignmentJson, simDemand, simNodes } from "./scheduler-sim.js";

const PLACEMENTS = Number(process.env["BENCH_PLACEMENTS"] ?? 1_000_000);
const NODES = Number(process.env["BENCH_NODES"] ?? 5000);
const PER_APP = 1000;
const GROWTH = Number(process.env["BENCH_GROWTH"] ?? 200_000);
const GROWTH_ROUNDS = 5;
const AGENTS = Number(process.env["BENCH_AGENTS"] ?? 10_000);
const WRITES = Number(process.env["BENCH_WRITES"] ?? 500);
const ETCD = process.env["BENCH_ETCD"] !== "0";
/** Transactions in flight while committing. */
const PARALLEL = Number(process.env["BENCH_PARALLEL"] ?? 32);

const now = (): number => performance.now();
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const secs = (ms: number): string => (ms / 1000).toFixed(1);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

interface Plan {
  apps: number;
  /** Node index of each placement, app after app. */
  nodeOf: Int32Array;
  names: string[];
  placed: number;
  /** Whole plan, index included. */
  ms: number;
  /** Building the placement index (once per plan). */
  indexMs: number;
  /** The same as CPU time of this process (others' load on the machine does not count). */
  cpuMs: number;
  indexCpuMs: number;
  scored: number;
}

/** Place `placements` instances (apps of PER_APP) over `nodes` simulated nodes. */
function plan(nodes: number, placements: number): Plan {
  const infos = simNodes(nodes);
  const t0 = now();
  const cpu0 = cpuNow();
  const c = new Cluster(infos, []);
  const indexMs = now() - t0;
  const indexCpuMs = cpuNow() - cpu0;
  const apps = Math.ceil(placements / PER_APP);
  const nodeOf = new Int32Array(placements);
  let placed = 0;
  let scored = 0;
  for (let k = 0; k < apps; k++) {
    const want = Math.min(PER_APP, placements - k * PER_APP);
    const p = placeMany(c, simDemand(k), want, { indexesOnly: true });
    if (p.reason !== undefined) throw new Error(`app ${k}: ${p.reason}`);
    for (const i of p.indexes) nodeOf[placed++] = i;
    scored += p.scored;
  }
  const cpuMs = cpuNow() - cpu0;
  return {
    apps,
    nodeOf,
    names: c.names,
    placed,
    ms: now() - t0,
    indexMs,
    cpuMs,
    indexCpuMs,
    scored,
  };
}

/**
 * Commit a plan's assignments in transactions of <= 128 creates, PARALLEL at a time, in key
 * order (node by node): sequential inserts, about 3x faster on the embedded store than the
 * plan's order.
 */
async function commit(store: Store, p: Plan): Promise<{ ms: number; txns: number }> {
  const t0 = now();
  // Placements grouped by node (a counting sort): node names are sorted, so keys come in order.
  const start = new Int32Array(p.names.length + 1);
  for (let j = 0; j < p.placed; j++) start[p.nodeOf[j]! + 1]!++;
  for (let n = 0; n < p.names.length; n++) start[n + 1]! += start[n]!;
  const fill = start.slice(0, p.names.length);
  const order = new Int32Array(p.placed);
  for (let j = 0; j < p.placed; j++) order[fill[p.nodeOf[j]!]!++] = j;
  const demands = Array.from({ length: p.apps }, (_, k) => simDemand(k));
  let next = 0;
  let txns = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const from = next;
      if (from >= p.placed) return;
      next = Math.min(p.placed, from + MAX_TXN_OPS);
      const writes = [];
      for (let o = from; o < next; o++) {
        const j = order[o]!;
        const app = demands[Math.floor(j / PER_APP)]!;
        const index = (j % PER_APP) + 1;
        const node = p.names[p.nodeOf[j]!]!;
        writes.push({
          key: `assignments/${node}/${app.app}-v1-web-${index}-abcd`,
          value: assignmentJson(app.app, index, node, app.cpu),
        });
      }
      for (const b of batches(writes)) {
        await createBatch(store, b);
        txns++;
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  const count = (await store.range({ prefix: "assignments/" }, { countOnly: true })).count;
  if (count !== p.placed) throw new Error(`committed ${count} of ${p.placed} assignments`);
  return { ms: now() - t0, txns };
}

/** Transactions sent again after an unknown outcome (see createBatch). */
let retried = 0;

/**
 * One create-only transaction. Under this load the etcd store's quorum guard (src/store/etcd/
 * quorum-guard.ts) may give up on a write whose answer is slow, with no_quorum or unavailable:
 * the outcome is then unknown, so the batch is sent again; a compare that fails on a second try
 * means the first was applied (the batch is atomic: its first key holds our value).
 */
async function createBatch(store: Store, b: { key: string; value: string }[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await store.txn({
        compare: b.map((w) => ({ key: w.key, target: "version", op: "==", value: 0 })),
        success: b.map((w) => ({ type: "put", key: w.key, value: w.value })),
      });
      if (res.succeeded) return;
      const first = await store.get(b[0]!.key);
      if (attempt > 0 && first !== undefined && text(first.value) === b[0]!.value) return;
      throw new Error(`a batch found a key taken (${b[0]!.key})`);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if ((code !== "no_quorum" && code !== "unavailable") || attempt >= 20) throw err;
      retried++;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function place1M(): Promise<number> {
  const p = plan(NODES, PLACEMENTS);
  console.log(
    `plan: ${p.placed} placements over ${NODES} nodes in ${secs(p.ms)} s (${((p.ms * 1000) / p.placed).toFixed(2)} µs each, ${(p.scored / p.placed).toFixed(2)} candidates scored each)`,
  );
  const dir = mkdtempSync(join(tmpdir(), "gantry-bench-scheduler-"));
  let slowest = 0;
  try {
    const sqlite = await openSqliteStore({ dir: join(dir, "store") });
    try {
      const c = await commit(sqlite, p);
      slowest = Math.max(slowest, c.ms);
      console.log(
        `commit [embedded]: ${p.placed} assignments in ${c.txns} transactions in ${secs(c.ms)} s (${Math.round(p.placed / (c.ms / 1000))}/s)`,
      );
    } finally {
      await sqlite.close();
    }
    if (ETCD) {
      const etcd = await startEtcd({ extraArgs: ["--quota-backend-bytes", String(8 * 2 ** 30)] });
      try {
        const store = await openEtcdStore({ endpoints: etcd.endpoints });
        try {
          const c = await commit(store, p);
          slowest = Math.max(slowest, c.ms);
          console.log(
            `commit [etcd]: ${p.placed} assignments in ${c.txns} transactions in ${secs(c.ms)} s (${Math.round(p.placed / (c.ms / 1000))}/s; ${retried} sent again after no_quorum/unavailable from the store's quorum guard)`,
          );
        } finally {
          await store.close();
        }
      } finally {
        await etcd.cleanup();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const total = p.ms + slowest;
  console.log(
    `place1M: ${secs(total)} s (plan ${secs(p.ms)} s + slowest commit ${secs(slowest)} s)`,
  );
  return total / 1000;
}

function growth(): number {
  const sizes = [500, 5000, 50_000];
  const runs = new Map<number, Plan[]>(sizes.map((n) => [n, []]));
  // Interleaved, so a burst of load from others falls on every size alike; median of ROUNDS.
  for (let r = 0; r < GROWTH_ROUNDS; r++) for (const n of sizes) runs.get(n)!.push(plan(n, GROWTH));
  const cost = new Map<number, number>();
  for (const n of sizes) {
    const list = runs.get(n)!;
    const us = (median(list.map((x) => x.cpuMs)) * 1000) / GROWTH;
    const index = (median(list.map((x) => x.indexCpuMs)) * 1000) / GROWTH;
    const wall = (median(list.map((x) => x.ms)) * 1000) / GROWTH;
    cost.set(n, us);
    console.log(
      `growth: ${GROWTH} placements over ${n} nodes: ${us.toFixed(2)} µs CPU each (of which the plan's index ${index.toFixed(2)} µs; wall ${wall.toFixed(2)} µs; ${(list[0]!.scored / GROWTH).toFixed(2)} candidates scored each; median of ${GROWTH_ROUNDS})`,
    );
  }
  return cost.get(50_000)! / cost.get(5000)!;
}

async function watch10k(): Promise<number> {
  const api = await startTestApi();
  const child = fork(
    join(import.meta.dirname, "scheduler-agents.ts"),
    [api.url, api.adminToken, String(AGENTS)],
    { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  const waiting = new Map<string, (at: number) => void>();
  let errors = 0;
  const ready = new Promise<void>((resolve, reject) => {
    child.on("exit", (code) => reject(new Error(`the simulated agents exited (${code})`)));
    child.on("message", (m: { type: string; ids?: string[]; at?: number; message?: string }) => {
      if (m.type === "ready") resolve();
      else if (m.type === "answer") for (const id of m.ids!) waiting.get(id)?.(m.at!);
      else if (m.type === "error" && errors++ < 5) console.log(`agent error: ${m.message}`);
    });
  });
  try {
    const t0 = now();
    await ready;
    console.log(
      `watch10k: ${AGENTS} agents holding a blocking query each (connected in ${secs(now() - t0)} s)`,
    );
    await new Promise((r) => setTimeout(r, 2000));
    const lat: number[] = [];
    let missed = 0;
    for (let i = 0; i < WRITES; i++) {
      const node = `sim-${Math.floor(Math.random() * AGENTS)}`;
      const id = `bench-v1-web-${i + 1}-abcd`;
      const answered = new Promise<number>((resolve) => {
        waiting.set(id, resolve);
        setTimeout(() => resolve(-1), 5000);
      });
      const start = Number(process.hrtime.bigint()) / 1e6;
      await api.store.put(`assignments/${node}/${id}`, assignmentJson("bench", i + 1, node, 0.1));
      const at = await answered;
      waiting.delete(id);
      if (at < 0) missed++;
      else lat.push(at - start);
      await new Promise((r) => setTimeout(r, 5));
    }
    const p50 = pct(lat, 50);
    const p99 = pct(lat, 99);
    console.log(
      `watch10k: ${WRITES} assignments written one at a time to random nodes of ${AGENTS}: write → agent answer p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms; ${missed} not answered within 5 s; ${errors} agent errors`,
    );
    if (missed > 0) return Infinity;
    return p99;
  } finally {
    child.removeAllListeners("exit");
    child.send("stop");
    await new Promise((r) => child.once("exit", r).once("error", r));
    await api.close();
  }
}

async function main(): Promise<void> {
  console.log("bench:scheduler — 2-core machine shared with others' tests; figures are of one run");
  // BENCH_ONLY=growth|watch|place runs one part (the summary then has NaN for the others).
  const only = process.env["BENCH_ONLY"];
  const g = only === undefined || only === "growth" ? growth() : NaN;
  const w = only === undefined || only === "watch" ? await watch10k() : NaN;
  const p = only === undefined || only === "place" ? await place1M() : NaN;
  console.log("targets: place1M < 60 s, per-placement growth 5k→50k <= 2x, watch10k p99 <= 50 ms");
  console.log(
    `scheduler: place1M=${p.toFixed(1)}s per-placement-growth-5k→50k=${g.toFixed(2)}x watch10k-p99=${w.toFixed(1)}ms`,
  );
}

await main();
