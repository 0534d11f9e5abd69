/**
 * The server the API fuzz tests run against (one per test file), and the one exchange they all
 * go through: send a request with node:http, then check the rules every answer must keep —
 * never a 5xx; a 4xx body is `{"error":{"code","message","field"?}}`; nothing written unless
 * the answer was a 2xx (the store's revision tells, with a watch on every key to tell a
 * request's writes from leases expiring on their own).
 *
 * Requests go through node:http rather than fetch so that GET can carry a body, paths keep their
 * `..` and raw bytes, and streams can be cut off right after their headers.
 *
 * Routes outside /v1 that speak another protocol (git smart HTTP) may answer errors in their
 * own format; the other rules hold for them too.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { Router } from "../../src/api/router.js";
import { createApiServer, type RouteDef } from "../../src/api/server.js";
import { newSecret } from "../../src/api/tokens.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { WriteLog } from "./api-fuzz-write-log.js";

/** About this many requests in all by default, shared by the routes (at least 60 runs each). */
const BUDGET = 6000;
export const SEED =
  process.env["FUZZ_SEED"] === undefined ? undefined : Number(process.env["FUZZ_SEED"]);
export const PATH = process.env["FUZZ_PATH"];
/** A file to log every exchange to (one line each), for looking at what the fuzzer reaches. */
const TRACE = process.env["FUZZ_TRACE"];
/** Longest a request may take before we give up on it (blocking reads with a long wait). */
const TIMEOUT_MS = 1500;

// --- the server under test ------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), "gantry-api-fuzz-"));
const store = await openSqliteStore({ dir: join(dir, "store"), durability: "process" });
const serverLog: string[] = [];
// A dashboard build of its own, so /ui answers whether or not web/dist was built.
mkdirSync(join(dir, "ui", "assets"), { recursive: true });
writeFileSync(join(dir, "ui", "index.html"), "<!doctype html><title>fuzz</title>");
writeFileSync(join(dir, "ui", "assets", "app-0000.js"), "export {};\n".repeat(64));
export const api = await createApiServer({
  store,
  log: (line) => serverLog.push(line),
  uiDist: join(dir, "ui"),
});
export const ADMIN = newSecret();
export const LIMITED = newSecret();
await api.deps.tokens.create(`fuzz-admin-${ADMIN.slice(4, 12)}`, [{ admin: true }], "fuzz", ADMIN);
await api.deps.tokens.create(
  `fuzz-limited-${LIMITED.slice(4, 12)}`,
  [
    { resource: "kv", prefix: "fz/", access: "write" },
    { resource: "service", prefix: "web", access: "read" },
    { resource: "session", prefix: "", access: "write" },
  ],
  "fuzz",
  LIMITED,
);
const { port } = await api.listen("127.0.0.1", 0);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const router = new Router<RouteDef>();
for (const r of api.routes) router.add(r.method, r.path, r);
/** Runs per route with a valid token (a quarter as many again without one). */
export const RUNS = Number(
  process.env["FUZZ_RUNS"] ?? Math.max(60, Math.floor(BUDGET / 1.25 / api.routes.length)),
);

export const stats = {
  requests: 0,
  timedOut: 0,
  started: Date.now(),
  byStatus: new Map<number, number>(),
  /** Status counts per route under test, printed with FUZZ_VERBOSE=1. */
  byRoute: new Map<string, Map<number, number>>(),
  current: "",
  /** How many routes this test file fuzzes. */
  routes: 0,
};

afterAll(async () => {
  const secs = ((Date.now() - stats.started) / 1000).toFixed(1);
  const counts = (m: Map<number, number>): string =>
    [...m]
      .sort(([a], [b]) => a - b)
      .map(([st, n]) => `${st}:${n}`)
      .join(" ");
  const lines = [
    `api-fuzz: ${stats.requests} requests over ${stats.routes} routes in ${secs}s ` +
      `(${stats.timedOut} cut off by the client timeout) — ${counts(stats.byStatus)}`,
  ];
  if (process.env["FUZZ_VERBOSE"] !== undefined)
    for (const [route, m] of stats.byRoute) lines.push(`  ${route.padEnd(48)} ${counts(m)}`);
  console.log(lines.join("\n"));
  writes.stop();
  agent.destroy();
  await api.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const writes = new WriteLog(store, (await store.status()).revision + 1);

// --- sending one request --------------------------------------------------------------------

export type AuthKind = "admin" | "limited" | "bad" | "none";

export interface FuzzRequest {
  method: string;
  /** The raw request target: path and query, sent as is. */
  target: string;
  auth: { kind: AuthKind; header?: string };
  headers: [string, string][];
  body: Buffer | undefined;
  chunked: boolean;
}

export interface Answer {
  /** 0 when the client gave up waiting, -1 when the connection failed. */
  status: number;
  contentType: string;
  body: Buffer;
  /** The server said `connection: close`. */
  closed?: boolean;
  error?: string;
}

export function send(r: FuzzRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    for (const [k, v] of r.headers) headers[k] = v;
    if (r.auth.header !== undefined) headers["authorization"] = r.auth.header;
    if (r.body !== undefined) {
      // Chunked must be asked for explicitly: node does not chunk GET/HEAD/DELETE bodies itself.
      if (r.chunked) headers["transfer-encoding"] = "chunked";
      else headers["content-length"] = r.body.length;
    }
    let done = false;
    const finish = (a: Answer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(a);
    };
    let req: ReturnType<typeof request>;
    try {
      req = request({ host: "127.0.0.1", port, method: r.method, path: r.target, headers, agent });
    } catch (err) {
      // The generators must only build requests that an HTTP client can send.
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const timer = setTimeout(() => {
      stats.timedOut++;
      req.destroy();
      finish({ status: 0, contentType: "", body: Buffer.alloc(0) });
    }, TIMEOUT_MS);
    req.on("error", (err) =>
      finish({ status: -1, contentType: "", body: Buffer.alloc(0), error: err.message }),
    );
    req.on("response", (res) => {
      const status = res.statusCode ?? -1;
      const contentType = res.headers["content-type"] ?? "";
      const chunks: Buffer[] = [];
      const closed = res.headers["connection"] === "close";
      const collected = (): Answer => ({
        status,
        contentType,
        body: Buffer.concat(chunks),
        closed,
      });
      if (contentType.startsWith("text/event-stream")) {
        // A stream never ends by itself: its headers and first event are all we need.
        const cut = (): void => {
          finish(collected());
          req.destroy();
        };
        res.on("data", (c: Buffer) => {
          chunks.push(c);
          cut();
        });
        res.on("error", () => undefined);
        setTimeout(cut, 30);
        return;
      }
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => finish(collected()));
      res.on("error", (err) => finish({ ...collected(), status: -1, error: err.message }));
    });
    if (r.body !== undefined) req.end(r.body);
    else req.end();
  });
}

// --- what must hold for every answer --------------------------------------------------------

/** What the router predicts for a request target (origin-form targets only, as the server parses them). */
function predicted(r: FuzzRequest): RouteDef | "method" | "none" | undefined {
  if (!r.target.startsWith("/")) return undefined;
  const path = new URL(`http://gantry.invalid${r.target}`).pathname;
  const m = router.match(r.method, path);
  return m === undefined ? "none" : m === "method" ? "method" : m.handler;
}

/** Send one request and check its answer; returns the answer and the writes it made. */
export async function exchange(r: FuzzRequest): Promise<{ answer: Answer; made: string[] }> {
  const t0 = performance.now();
  const before = (await store.status()).revision;
  const a = await send(r);
  const after = (await store.status()).revision;
  stats.requests++;
  stats.byStatus.set(a.status, (stats.byStatus.get(a.status) ?? 0) + 1);
  const mine = stats.byRoute.get(stats.current) ?? new Map<number, number>();
  mine.set(a.status, (mine.get(a.status) ?? 0) + 1);
  stats.byRoute.set(stats.current, mine);
  if (TRACE !== undefined)
    appendFileSync(
      TRACE,
      `${(performance.now() - t0).toFixed(1)}ms ${a.status} ${r.auth.kind} ${r.method} ${r.target.slice(0, 120)} :: ${a.body.toString("utf8", 0, 160)}\n`,
    );
  const fail = (why: string): never => {
    throw new Error(`${why}\n${describeExchange(r, a)}`);
  };

  if (a.status === -1) fail(`the connection failed without an answer: ${a.error}`);
  if (a.status >= 500) fail(`answered ${a.status}`);
  // The HTTP parser's own refusals (headers over 16 KB, bytes not allowed in a URL) come before
  // routing and close the connection, which the API's own answers never do. They carry the JSON
  // body too, except when the server cannot tell the request was not a HEAD (no body allowed).
  const byParser = a.closed === true;
  // Paths with "." or ".." segments are refused before routing (they would address another key).
  const dotted = /(^|\/)(\.|%2e){1,2}(\/|$)/i.test(r.target.split("?")[0]!);
  if (dotted && !byParser && a.status !== 400)
    fail(`a path with dot segments answered ${a.status}`);
  const route = byParser || dotted ? undefined : predicted(r);
  // Routes outside /v1 that speak another protocol (git's smart HTTP answers git clients in
  // plain text) keep their own error format; everything else answers errors in JSON.
  const foreign =
    typeof route === "object" &&
    !route.path.startsWith("/v1/") &&
    !a.contentType.startsWith("application/json");
  if (a.status >= 400 && r.method !== "HEAD" && !foreign && !(byParser && a.body.length === 0)) {
    let body: unknown;
    try {
      body = JSON.parse(a.body.toString("utf8"));
    } catch {
      fail(`a ${a.status} without a JSON body`);
    }
    const err = (body as { error?: Record<string, unknown> } | null)?.error;
    if (
      typeof err !== "object" ||
      err === null ||
      typeof err["code"] !== "string" ||
      err["code"] === "" ||
      typeof err["message"] !== "string" ||
      !(err["field"] === undefined || typeof err["field"] === "string")
    ) {
      fail(`a ${a.status} whose body is not {"error":{"code","message","field"?}}`);
    }
  }
  const made = after === before ? [] : await writes.between(before, after);
  if (!(a.status >= 200 && a.status < 300) && made.length > 0)
    fail(`answered ${a.status} but wrote: ${made.slice(0, 5).join("; ")}`);

  if (route === "none" && a.status !== 404) fail(`no route matches, yet answered ${a.status}`);
  if (route === "method" && a.status !== 405) fail(`wrong method, yet answered ${a.status}`);
  if (typeof route === "object") {
    const anonymous = r.auth.kind === "none" || r.auth.kind === "bad";
    // A wrong secret, after many from this address, is slowed down instead (src/api/auth-limiter.ts).
    const limited = r.auth.kind === "bad" && a.status === 429;
    if (anonymous && !route.public && a.status !== 401 && !limited)
      fail(`no valid token on a protected route, yet answered ${a.status}`);
    if (!anonymous && a.status === 401) fail(`a valid token was refused`);
  }
  return { answer: a, made };
}

/** The property: exchange() throws when an answer breaks a rule. */
export const checked = async (r: FuzzRequest): Promise<void> => {
  await exchange(r);
};

function describeExchange(r: FuzzRequest, a: Answer): string {
  const cut = (s: string, n = 300): string =>
    s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s;
  const body =
    r.body === undefined
      ? "(none)"
      : `${r.body.length} bytes${r.chunked ? ", chunked" : ""}: ${JSON.stringify(cut(r.body.toString("latin1"), 200))}`;
  const logs = serverLog.splice(0).slice(-3).join("\n");
  return [
    `  request: ${r.method} ${cut(r.target)}`,
    `  auth: ${r.auth.kind} ${JSON.stringify(cut(r.auth.header ?? "", 80))}`,
    `  headers: ${JSON.stringify(r.headers.map(([k, v]) => [k, cut(v, 80)]))}`,
    `  body: ${body}`,
    `  answer: ${a.status} ${a.contentType} ${JSON.stringify(cut(a.body.toString("utf8"), 500))}`,
    ...(logs === "" ? [] : [`  server log:\n${logs}`]),
  ].join("\n");
}
