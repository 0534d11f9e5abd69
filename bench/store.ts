/**
 * `npm run bench:store` — the embedded store against a real etcd, same workloads, one run.
 *
 * Workloads (each backend runs them in turn, on fresh state):
 * - seq:    sequential puts from one client;
 * - puts64: puts from 64 concurrent clients (etcd: 64 connections; embedded: 64 callers);
 * - ranges: range reads of 100 keys (100-byte values), 16 in flight;
 * - watch:  put-to-event latency of a prefix watch, p50/p99.
 * The last line is the summary that issues and docs quote.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEtcdStore } from "../src/store/etcd/index.js";
import { openSqliteStore } from "../src/store/sqlite/index.js";
import type { Store } from "../src/store/types.js";
import { startEtcd } from "../test/helpers/etcd.js";

const SEQ_PUTS = Number(process.env["BENCH_SEQ_PUTS"] ?? 2000);
const PUTS64 = Number(process.env["BENCH_PUTS64"] ?? 20000);
const RANGES = Number(process.env["BENCH_RANGES"] ?? 10000);
const WATCH_EVENTS = Number(process.env["BENCH_WATCH_EVENTS"] ?? 2000);

interface Result {
  seqPerSec: number;
  puts64PerSec: number;
  rangesPerSec: number;
  watchP50: number;
  watchP99: number;
}

interface Backend {
  name: string;
  store: Store;
  clients(n: number): Promise<Store[]>;
  close(): Promise<void>;
}

const value100 = "x".repeat(100);

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

async function runWorkloads(b: Backend): Promise<Result> {
  const s = b.store;
  const seqSecs = await timed(async () => {
    for (let i = 0; i < SEQ_PUTS; i++) await s.put(`bench/seq/${i}`, value100);
  });

  const clients = await b.clients(64);
  let next = 0;
  const puts64Secs = await timed(async () => {
    await Promise.all(
      clients.map(async (c) => {
        while (next < PUTS64) {
          const i = next++;
          await c.put(`bench/p64/${i % 5000}`, value100);
        }
      }),
    );
  });

  for (let i = 0; i < 100; i++) await s.put(`bench/range/${String(i).padStart(3, "0")}`, value100);
  let done = 0;
  const rangeClients = clients.slice(0, 16);
  const rangesSecs = await timed(async () => {
    await Promise.all(
      rangeClients.map(async (c) => {
        while (done < RANGES) {
          done++;
          const r = await c.range({ prefix: "bench/range/" });
          if (r.kvs.length !== 100) throw new Error(`range returned ${r.kvs.length} keys`);
        }
      }),
    );
  });

  const latencies: number[] = [];
  const sent = new Map<string, bigint>();
  const watch = s.watch({ prefix: "bench/watch/" });
  const consumer = (async () => {
    for await (const batch of watch) {
      const now = process.hrtime.bigint();
      for (const e of batch) {
        const t0 = sent.get(e.kv.key);
        if (t0 !== undefined) latencies.push(Number(now - t0) / 1e6);
      }
      if (latencies.length >= WATCH_EVENTS) break;
    }
  })();
  await new Promise((r) => setTimeout(r, 100));
  for (let i = 0; i < WATCH_EVENTS; i++) {
    const key = `bench/watch/${i}`;
    sent.set(key, process.hrtime.bigint());
    await s.put(key, value100);
    if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  await consumer;
  latencies.sort((x, y) => x - y);

  await Promise.all(clients.filter((c) => c !== s).map((c) => c.close()));
  return {
    seqPerSec: SEQ_PUTS / seqSecs,
    puts64PerSec: PUTS64 / puts64Secs,
    rangesPerSec: RANGES / rangesSecs,
    watchP50: percentile(latencies, 50),
    watchP99: percentile(latencies, 99),
  };
}

async function embedded(dir: string): Promise<Backend> {
  const store = await openSqliteStore({ dir });
  return {
    name: "embedded",
    store,
    clients: async (n) => Array.from({ length: n }, () => store),
    close: () => store.close(),
  };
}

async function etcd(endpoints: string[]): Promise<Backend> {
  const store = await openEtcdStore({ endpoints });
  return {
    name: "etcd",
    store,
    clients: (n) => Promise.all(Array.from({ length: n }, () => openEtcdStore({ endpoints }))),
    close: () => store.close(),
  };
}

const fmt = (n: number, digits = 0): string => n.toFixed(digits);

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), "gantry-bench-store-"));
  const server = await startEtcd();
  const results: Record<string, Result> = {};
  try {
    for (const make of [() => embedded(join(tmp, "embedded")), () => etcd(server.endpoints)]) {
      const b = await make();
      process.stderr.write(`running ${b.name}…\n`);
      results[b.name] = await runWorkloads(b);
      await b.close();
    }
  } finally {
    await server.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  }
  const e = results["embedded"]!;
  const d = results["etcd"]!;
  const rows = [
    ["workload", "embedded", "etcd", "embedded/etcd"],
    [
      "sequential puts/s (1 client)",
      fmt(e.seqPerSec),
      fmt(d.seqPerSec),
      `${fmt(e.seqPerSec / d.seqPerSec, 2)}x`,
    ],
    [
      "puts/s (64 clients)",
      fmt(e.puts64PerSec),
      fmt(d.puts64PerSec),
      `${fmt(e.puts64PerSec / d.puts64PerSec, 2)}x`,
    ],
    [
      "range reads/s (100 keys, 16 in flight)",
      fmt(e.rangesPerSec),
      fmt(d.rangesPerSec),
      `${fmt(e.rangesPerSec / d.rangesPerSec, 2)}x`,
    ],
    ["watch put-to-event p50 (ms)", fmt(e.watchP50, 2), fmt(d.watchP50, 2), ""],
    ["watch put-to-event p99 (ms)", fmt(e.watchP99, 2), fmt(d.watchP99, 2), ""],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    console.log(
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    );
  console.log(
    `store: puts64 embedded/etcd=${fmt(e.puts64PerSec / d.puts64PerSec, 2)}x ` +
      `ranges embedded/etcd=${fmt(e.rangesPerSec / d.rangesPerSec, 2)}x ` +
      `watch-p99 embedded=${fmt(e.watchP99, 2)}ms etcd=${fmt(d.watchP99, 2)}ms`,
  );
}

main().catch((err: unknown) => {
  console.error(`bench:store failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
