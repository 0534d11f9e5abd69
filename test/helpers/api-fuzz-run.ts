/**
 * The API fuzz properties: `fuzzRoutes(family)` fuzzes every route of one family (thousands of
 * malformed requests, built from `api.routes`), so each family is a test file of its own and
 * routes added later are covered without touching any of them (a route no family claims falls
 * in "other").
 *
 * FUZZ_RUNS sets the runs per route (default: ~6,000 requests shared by all routes);
 * FUZZ_SEED and FUZZ_PATH replay a failure (the message says how); FUZZ_VERBOSE=1 prints
 * status counts per route; FUZZ_TRACE=FILE logs every exchange.
 */
import { relative } from "node:path";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { RouteDef } from "../../src/api/server.js";
import { SEEDS, json } from "./api-fuzz-bodies.js";
import { learned, learnedRecords } from "./api-fuzz-paths.js";
import { badAuth, goodAuth, requestArb } from "./api-fuzz-requests.js";
import {
  ADMIN,
  PATH,
  RUNS,
  SEED,
  api,
  checked,
  exchange,
  send,
  stats,
  type FuzzRequest,
} from "./api-fuzz-server.js";

/** Route families, by path; a route none of them matches is fuzzed in "other". */
const FAMILIES = {
  store: /^\/v1\/(kv|txn|watch|sessions|tokens|audit)(\/|$)/,
  cluster: /^\/v1\/(catalog|checks|nodes)(\/|$)|^\/v1\/health\/./,
  apps: /^\/v1\/(apps|instances|artifacts)(\/|$)|^\/git\//,
};
export type Family = keyof typeof FAMILIES | "other";

/** The test file running, as the replay command names it. */
const testFile = (): string => relative(process.cwd(), expect.getState().testPath ?? "test");

/** The routes of one family. */
export function routesOf(family: Family): RouteDef[] {
  if (family !== "other") return api.routes.filter((r) => FAMILIES[family].test(r.path));
  return api.routes.filter((r) => !Object.values(FAMILIES).some((re) => re.test(r.path)));
}

/**
 * Make some things exist before fuzzing: each seed body sent to each POST/PUT route without
 * path parameters, and a few KV keys. The ids and names in the answers become path segments.
 * Also proves the write detector works: a 2xx write must show up in the write log.
 */
async function warmUp(): Promise<void> {
  const admin = { kind: "admin" as const, header: `Bearer ${ADMIN}` };
  const base = { auth: admin, headers: [] as [string, string][], chunked: false };
  for (const key of ["fz", "fz/a", "fz/b/c", "web", "0", "a.b"]) {
    const { answer, made } = await exchange({
      ...base,
      method: "PUT",
      target: `/v1/kv/${key}`,
      body: Buffer.from(key),
    });
    expect(answer.status).toBe(200);
    expect(made.length).toBeGreaterThan(0);
  }
  learned.push("fz");
  const collect = (v: unknown, into: string[]): void => {
    if (Array.isArray(v)) v.forEach((x) => collect(x, into));
    else if (v !== null && typeof v === "object")
      for (const [k, x] of Object.entries(v)) {
        if (["id", "name", "service", "node"].includes(k) && typeof x === "string" && x !== "")
          into.push(encodeURIComponent(x));
        else collect(x, into);
      }
  };
  for (const route of api.routes) {
    if (route.public || !["POST", "PUT"].includes(route.method) || /[:*]/.test(route.path))
      continue;
    for (const seed of SEEDS) {
      const { answer } = await exchange({
        ...base,
        method: route.method,
        target: route.path,
        body: json(seed),
      });
      if (answer.status < 200 || answer.status >= 300) continue;
      const ids: string[] = [];
      collect(JSON.parse(answer.body.toString("utf8")), ids);
      learned.push(...ids);
      learnedRecords.push(ids);
    }
  }
}

export async function run(
  prop: fc.IAsyncPropertyWithHooks<[FuzzRequest]>,
  numRuns: number,
): Promise<void> {
  const details = await fc.check(prop, {
    numRuns,
    ...(SEED === undefined ? {} : { seed: SEED }),
    ...(PATH === undefined ? {} : { path: PATH }),
  });
  if (details.failed) {
    const err = details.errorInstance;
    const why = err instanceof Error ? err.message : String(err);
    // The store's contents depend on what ran before, so a replay is close, not always exact;
    // the request printed below reproduces by hand.
    throw new Error(
      `fuzz failed after ${details.numRuns} runs; replay: FUZZ_SEED=${details.seed} ` +
        `FUZZ_PATH=${details.counterexamplePath} npx vitest run ${testFile()} -t '${stats.current}'\n${why}`,
    );
  }
}

/** Every route of the family survives malformed requests, and the server still answers after. */
export function fuzzRoutes(family: Family): void {
  const routes = routesOf(family);
  stats.routes = routes.length;
  beforeAll(async () => {
    stats.current = "warm-up";
    await warmUp();
  });

  describe(`every ${family} route survives malformed requests`, () => {
    for (const route of routes) {
      it(`${route.method} ${route.path}`, async () => {
        stats.current = `${route.method} ${route.path}`;
        await run(fc.asyncProperty(requestArb(route, goodAuth), checked), RUNS);
        await run(fc.asyncProperty(requestArb(route, badAuth), checked), Math.ceil(RUNS / 4));
      });
    }

    it("still answers health afterwards", async () => {
      const a = await send({
        method: "GET",
        target: "/v1/health",
        auth: { kind: "none" },
        headers: [],
        body: undefined,
        chunked: false,
      });
      expect(a.status).toBe(200);
    });
  });
}
