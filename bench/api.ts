/**
 * `npm run bench:api` — Gantry's API against etcd itself, same workloads, one run.
 *
 * - puts64: KV puts of 100-byte values from 64 concurrent clients (HTTP/1.1 keep-alive, one
 *   socket each) against `gantry server` on the embedded store [api-embedded] and on a real
 *   etcd [api-etcd]; the same workload straight to that etcd through the Store's etcd3 client,
 *   both as 64 clients with a connection each (as in bench:store) and as one connection with 64
 *   in flight. etcd-direct, the bar, is the faster of those two. [etcd-txn+audit] sends etcd
 *   what the API would send for each put on its own (the put and its audit entry in one txn);
 *   the API groups concurrent puts into fewer such transactions (src/api/write-batch.ts). The variants take turns for BENCH_ROUNDS rounds; each figure is the
 *   median round. CPU per put is read from /proc for the client (this process), the Gantry
 *   server and etcd: on a small machine the processes share the cores, so it explains the rates.
 * - watch: put-to-event latency, p50/p99: a PUT through the API until its Server-Sent Event
 *   arrives (etcd-direct: the Store's put until its watch event).
 * - idle RSS: `gantry up` (API, embedded store, local agent, router) after BENCH_IDLE_MS of
 *   nothing: the main process's RSS plus the private pages of any child process (router workers
 *   on more than 2 CPUs), so pages they share with it are counted once.
 *
 * The servers run as real processes (bin/gantry, built from dist/: run `npm run build` first).
 * BENCH_CPU_PROF=DIR writes a V8 CPU profile of each API server there (open in Chrome DevTools).
 * The last line is the summary that issues and docs quote; its watch-p99 is the worse of the
 * two API backends.
 */
import { Agent, request } from "node:http";
import { AuditLog } from "../src/audit/log.js";
import { GantryClient } from "../src/client/client.js";
import { openEtcdStore } from "../src/store/etcd/index.js";
import type { Store } from "../src/store/types.js";
import { startEtcd } from "../test/helpers/etcd.js";
import { startGantry, type GantryProcess, type StartOptions } from "../test/helpers/gantry.js";
import { cpuMs, descendants, privateMb, rssMb } from "../test/helpers/proc.js";

const PUTS64 = Number(process.env["BENCH_PUTS64"] ?? 5000);
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3);
const WARMUP = Number(process.env["BENCH_WARMUP"] ?? 1000);
const WATCH_EVENTS = Number(process.env["BENCH_WATCH_EVENTS"] ?? 1000);
const IDLE_MS = Number(process.env["BENCH_IDLE_MS"] ?? 3000);
const CPU_PROF = process.env["BENCH_CPU_PROF"];
const CLIENTS = 64;
const KEYS = 5000;

const value100 = Buffer.from("x".repeat(100));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One put of the workload: key number `i`. */
type PutFn = (i: number) => Promise<void>;

/** Run `count` puts with 64 callers, each its own client; returns puts per second. */
async function puts64(clients: PutFn[], count: number, offset = 0): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    clients.map(async (put) => {
      while (next < count) await put((offset + next++) % KEYS);
    }),
  );
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** 64 HTTP clients on one keep-alive agent with a socket each (node:http: little client cost). */
function apiClients(g: GantryProcess): { clients: PutFn[]; close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS, maxFreeSockets: CLIENTS });
  const headers = {
    authorization: `Bearer ${g.token}`,
    "content-type": "application/octet-stream",
    "content-length": String(value100.length),
  };
  const put: PutFn = (i) =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          agent,
          host: "127.0.0.1",
          port: g.port,
          method: "PUT",
          path: `/v1/kv/bench/p64/${i}`,
          headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            res.statusCode === 200
              ? resolve()
              : reject(
                  new Error(`PUT answered ${res.statusCode}: ${Buffer.concat(chunks).toString()}`),
                ),
          );
        },
      );
      req.on("error", reject);
      req.end(value100);
    });
  return { clients: Array.from({ length: CLIENTS }, () => put), close: () => agent.destroy() };
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface Latency {
  p50: number;
  p99: number;
}

/** Sequential puts, each timed until its watch event arrives (a pause every 10 like bench:store). */
async function watchLatency(
  subscribe: (onEvent: (key: string) => void) => Promise<() => void>,
  put: (key: string) => Promise<void>,
): Promise<Latency> {
  const sent = new Map<string, bigint>();
  const latencies: number[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const stop = await subscribe((key) => {
    const t0 = sent.get(key);
    if (t0 === undefined) return;
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (latencies.length >= WATCH_EVENTS) done();
  });
  for (let i = 0; i < WATCH_EVENTS; i++) {
    const key = `bench/watch/${i}`;
    sent.set(key, process.hrtime.bigint());
    await put(key);
    if (i % 10 === 0) await sleep(1);
  }
  await Promise.race([
    finished,
    sleep(10_000).then(() => {
      throw new Error(`only ${latencies.length} of ${WATCH_EVENTS} watch events arrived`);
    }),
  ]);
  stop();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

function apiWatchLatency(g: GantryProcess): Promise<Latency> {
  const client = new GantryClient({ addr: g.url, token: g.token });
  return watchLatency(
    async (onEvent) => {
      const abort = new AbortController();
      let ready!: () => void;
      const isReady = new Promise<void>((r) => (ready = r));
      void (async () => {
        try {
          for await (const batch of client.kvWatch("bench/watch/", {
            recurse: true,
            signal: abort.signal,
            onReady: () => ready(),
          }))
            for (const e of batch.events) onEvent(e.key);
        } catch (err) {
          if (!abort.signal.aborted) throw err;
        }
      })();
      await isReady;
      return () => abort.abort();
    },
    async (key) => {
      await client.kvPut(key, value100);
    },
  );
}

function directWatchLatency(store: Store): Promise<Latency> {
  return watchLatency(
    async (onEvent) => {
      const watch = store.watch({ prefix: "kv/bench/watch/" });
      void (async () => {
        for await (const batch of watch) for (const e of batch) onEvent(e.kv.key.slice(3));
      })();
      await sleep(100);
      return () => watch.cancel();
    },
    async (key) => {
      await store.put(`kv/${key}`, value100);
    },
  );
}

/**
 * Idle memory of `gantry up`: the main process's RSS plus what its child processes (router
 * workers, one per CPU on more than 2 CPUs) add on top of the pages they share with it.
 */
function idleMemory(pid: number): { main: number; children: number; count: number } {
  const kids = descendants(pid);
  return {
    main: rssMb(pid),
    children: kids.reduce((sum, k) => sum + privateMb(k), 0),
    count: kids.length,
  };
}

const fmt = (n: number, digits = 0): string => n.toFixed(digits);

/** Extra options for the idle `gantry up`, e.g. BENCH_GANTRY_ARGS="--router-workers 2". */
const GANTRY_ARGS = (process.env["BENCH_GANTRY_ARGS"] ?? "").split(" ").filter((a) => a !== "");

interface Variant {
  name: string;
  what: string;
  clients: PutFn[];
  /** The Gantry process serving it, for the CPU column. */
  gantry?: GantryProcess;
  rates: number[];
  /** CPU ms per put, summed over rounds: bench client, Gantry, etcd. */
  cpu: [number, number, number];
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    console.log(
      r
        .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
        .join("  ")
        .trimEnd(),
    );
}

async function main(): Promise<void> {
  const etcd = await startEtcd();
  const store = `etcd://${etcd.endpoints.map((u) => u.replace(/^http:\/\//, "")).join(",")}`;
  const prof = (name: string): Partial<StartOptions> =>
    CPU_PROF === undefined
      ? {}
      : {
          nodeArgs: [
            "--cpu-prof",
            "--cpu-prof-dir",
            CPU_PROF,
            "--cpu-prof-name",
            `${name}.cpuprofile`,
          ],
        };
  const running: GantryProcess[] = [];
  const directStores: Store[] = [];
  try {
    const embedded = await startGantry({ mode: "server", ...prof("api-embedded") });
    running.push(embedded);
    const onEtcd = await startGantry({ mode: "server", store, ...prof("api-etcd") });
    running.push(onEtcd);
    for (let i = 0; i < CLIENTS; i++)
      directStores.push(await openEtcdStore({ endpoints: etcd.endpoints }));
    const shared = directStores[0]!;
    const audit = new AuditLog("bench");
    const who = { name: "admin", tokenId: "tok_0123456789abcdef" };

    const viaApiEmbedded = apiClients(embedded);
    const viaApiEtcd = apiClients(onEtcd);
    const variant = (
      name: string,
      what: string,
      clients: PutFn[],
      gantry?: GantryProcess,
    ): Variant => ({
      name,
      what,
      clients,
      rates: [],
      cpu: [0, 0, 0],
      ...(gantry ? { gantry } : {}),
    });
    const variants: Variant[] = [
      variant(
        "etcd-direct/64",
        "etcd3 Store client, 64 clients with a connection each",
        directStores.map((s) => (i) => s.put(`kv/bench/p64/${i}`, value100).then(() => undefined)),
      ),
      variant(
        "etcd-direct/1",
        "etcd3 Store client, one connection, 64 in flight",
        directStores.map(
          () => (i) => shared.put(`kv/bench/p64/${i}`, value100).then(() => undefined),
        ),
      ),
      variant(
        "etcd-txn+audit",
        "etcd3 Store client, 64 connections, the API's txn (put + audit entry)",
        directStores.map(
          (s) => (i) =>
            s
              .txn({
                compare: [],
                success: [
                  { type: "put", key: `kv/bench/p64/${i}`, value: value100 },
                  audit.entry(who, "kv.put", `bench/p64/${i}`),
                ],
              })
              .then(() => undefined),
        ),
      ),
      variant("api-etcd", "gantry server --store etcd://, HTTP", viaApiEtcd.clients, onEtcd),
      variant(
        "api-embedded",
        "gantry server (embedded store), HTTP",
        viaApiEmbedded.clients,
        embedded,
      ),
    ];

    process.stderr.write(`warming up (${WARMUP} puts each)…\n`);
    for (const v of variants) await puts64(v.clients, WARMUP);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const v of variants) {
        const pids = [process.pid, v.gantry?.pid(), etcd.member.pid];
        const before = pids.map(cpuMs);
        const rate = await puts64(v.clients, PUTS64, round * PUTS64);
        pids.forEach((pid, i) => (v.cpu[i]! += (cpuMs(pid) - before[i]!) / PUTS64));
        v.rates.push(rate);
        process.stderr.write(`round ${round}: ${v.name} ${fmt(rate)} puts/s\n`);
      }
    }
    viaApiEmbedded.close();
    viaApiEtcd.close();
    const puts = (name: string): number => median(variants.find((v) => v.name === name)!.rates);
    // The bar is the better of the two ways etcd3 can be driven: no flattering denominator.
    const direct = Math.max(puts("etcd-direct/64"), puts("etcd-direct/1"));

    process.stderr.write("watch latency…\n");
    const watch = {
      "api-embedded": await apiWatchLatency(embedded),
      "api-etcd": await apiWatchLatency(onEtcd),
      "etcd-direct": await directWatchLatency(shared),
    };

    // CPU profiles are written when the servers exit.
    for (const g of running.splice(0)) {
      await g.stop();
      await g.cleanup();
    }

    process.stderr.write(`idle RSS of gantry up (${IDLE_MS} ms idle)…\n`);
    const up = await startGantry({ args: GANTRY_ARGS });
    running.push(up);
    await sleep(IDLE_MS);
    const idle = idleMemory(up.pid()!);
    const idleRss = idle.main + idle.children;

    console.log(
      `KV puts, 100-byte values, ${CLIENTS} concurrent clients; median of ${ROUNDS} rounds of ${PUTS64}`,
    );
    printTable([
      ["variant", "puts/s", "÷ etcd-direct", "CPU µs/put: client", "gantry", "etcd", "rounds"],
      ...variants.map((v) => [
        v.name,
        fmt(median(v.rates)),
        `${fmt(median(v.rates) / direct, 2)}x`,
        fmt((v.cpu[0] * 1000) / ROUNDS),
        v.gantry === undefined ? "-" : fmt((v.cpu[1] * 1000) / ROUNDS),
        fmt((v.cpu[2] * 1000) / ROUNDS),
        v.rates.map((r) => fmt(r)).join(" "),
      ]),
    ]);
    for (const v of variants) console.log(`  ${v.name}: ${v.what}`);
    console.log("");
    printTable([
      ["watch put-to-event (ms)", "p50", "p99"],
      ...Object.entries(watch).map(([name, l]) => [name, fmt(l.p50, 2), fmt(l.p99, 2)]),
    ]);
    console.log("");
    console.log(
      `idle RSS of gantry up after ${IDLE_MS} ms: ${fmt(idleRss, 1)} MB` +
        (idle.count === 0
          ? " (one process)"
          : ` (main ${fmt(idle.main, 1)} MB + ${idle.count} child process(es)' private ${fmt(idle.children, 1)} MB)`),
    );
    console.log(
      `api: puts64 api-embedded/etcd-direct=${fmt(puts("api-embedded") / direct, 2)}x ` +
        `api-etcd/etcd-direct=${fmt(puts("api-etcd") / direct, 2)}x ` +
        `watch-p99=${fmt(Math.max(watch["api-embedded"].p99, watch["api-etcd"].p99), 2)}ms ` +
        `idle-rss=${fmt(idleRss, 0)}MB`,
    );
  } finally {
    await Promise.all(running.map((g) => g.cleanup()));
    await Promise.all(directStores.map((s) => s.close()));
    await etcd.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(`bench:api failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
