/**
 * Property-based fuzzing of every API route (fast-check): thousands of malformed requests, built
 * from `api.routes` so routes added later are covered without touching this file. For every
 * answer: never a 5xx; a 4xx body is `{"error":{"code","message","field"?}}`; and nothing was
 * written unless the answer was a 2xx (the store's revision tells, with a watch on every key to
 * tell a request's writes from leases expiring on their own).
 *
 * Requests go through node:http rather than fetch so that GET can carry a body, paths keep their
 * `..` and raw bytes, and streams can be cut off right after their headers.
 *
 * Routes outside /v1 that speak another protocol (git smart HTTP) may answer errors in their
 * own format; the other rules hold for them too.
 *
 * FUZZ_RUNS sets the runs per route (default: ~6,000 requests shared by all routes);
 * FUZZ_SEED and FUZZ_PATH replay a failure (the message says how); FUZZ_VERBOSE=1 prints
 * status counts per route; FUZZ_TRACE=FILE logs every exchange.
 */
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../src/api/context.js";
import { Router } from "../src/api/router.js";
import { createApiServer, type RouteDef } from "../src/api/server.js";
import { newSecret } from "../src/api/tokens.js";
import { openSqliteStore } from "../src/store/sqlite/index.js";
import { MAX_VALUE_BYTES } from "../src/store/limits.js";
import type { Store } from "../src/store/types.js";

/** About this many requests in all by default, shared by the routes (at least 60 runs each). */
const BUDGET = 6000;
const SEED = process.env["FUZZ_SEED"] === undefined ? undefined : Number(process.env["FUZZ_SEED"]);
const PATH = process.env["FUZZ_PATH"];
/** A file to log every exchange to (one line each), for looking at what the fuzzer reaches. */
const TRACE = process.env["FUZZ_TRACE"];
/** Longest a request may take before we give up on it (blocking reads with a long wait). */
const TIMEOUT_MS = 1500;

// --- the server under test ------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), "gantry-api-fuzz-"));
const store = await openSqliteStore({ dir: join(dir, "store"), durability: "process" });
const serverLog: string[] = [];
const api = await createApiServer({ store, log: (line) => serverLog.push(line) });
const ADMIN = newSecret();
const LIMITED = newSecret();
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
const RUNS = Number(
  process.env["FUZZ_RUNS"] ?? Math.max(60, Math.floor(BUDGET / 1.25 / api.routes.length)),
);

const stats = {
  requests: 0,
  timedOut: 0,
  started: Date.now(),
  byStatus: new Map<number, number>(),
  /** Status counts per route under test, printed with FUZZ_VERBOSE=1. */
  byRoute: new Map<string, Map<number, number>>(),
  current: "",
};

afterAll(async () => {
  const secs = ((Date.now() - stats.started) / 1000).toFixed(1);
  const counts = (m: Map<number, number>): string =>
    [...m]
      .sort(([a], [b]) => a - b)
      .map(([st, n]) => `${st}:${n}`)
      .join(" ");
  const lines = [
    `api-fuzz: ${stats.requests} requests over ${api.routes.length} routes in ${secs}s ` +
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

// --- telling a request's writes from background ones ----------------------------------------

/**
 * Every change to the store, by revision. A lease that expires deletes its keys by itself, in
 * the middle of whatever request is running; those deletions (of keys that had a lease) are
 * not the request's doing. Anything else in a request's window of revisions is.
 */
class WriteLog {
  private readonly changes = new Map<number, string[]>();
  private seen = 0;
  private readonly watch;

  constructor(s: Store, from: number) {
    this.seen = from - 1;
    this.watch = s.watch({ prefix: "" }, { startRevision: from, prevKv: true });
    void this.follow();
  }

  private async follow(): Promise<void> {
    try {
      for await (const batch of this.watch) {
        for (const e of batch) {
          const rev = e.kv.modRevision;
          const byExpiry = e.type === "delete" && e.prevKv !== undefined && e.prevKv.lease !== "0";
          if (!byExpiry) {
            const list = this.changes.get(rev) ?? [];
            list.push(`${e.type} ${e.kv.key}`);
            this.changes.set(rev, list);
          }
          this.seen = Math.max(this.seen, rev);
        }
      }
    } catch {
      // cancelled at the end
    }
  }

  /** The writes in revisions (from, to] that were not leases expiring. */
  async between(from: number, to: number): Promise<string[]> {
    const until = Date.now() + 2000;
    while (this.seen < to && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
    if (this.seen < to) throw new Error(`the write log stopped at revision ${this.seen} (< ${to})`);
    const out: string[] = [];
    for (const [rev, list] of this.changes) {
      if (rev > from && rev <= to) out.push(...list.map((c) => `@${rev} ${c}`));
      if (rev <= to) this.changes.delete(rev);
    }
    return out;
  }

  stop(): void {
    this.watch.cancel();
  }
}

const writes = new WriteLog(store, (await store.status()).revision + 1);

// --- sending one request --------------------------------------------------------------------

type AuthKind = "admin" | "limited" | "bad" | "none";

interface FuzzRequest {
  method: string;
  /** The raw request target: path and query, sent as is. */
  target: string;
  auth: { kind: AuthKind; header?: string };
  headers: [string, string][];
  body: Buffer | undefined;
  chunked: boolean;
}

interface Answer {
  /** 0 when the client gave up waiting, -1 when the connection failed. */
  status: number;
  contentType: string;
  body: Buffer;
  /** The server said `connection: close`. */
  closed?: boolean;
  error?: string;
}

function send(r: FuzzRequest): Promise<Answer> {
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
async function exchange(r: FuzzRequest): Promise<{ answer: Answer; made: string[] }> {
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
    if (anonymous && !route.public && a.status !== 401)
      fail(`no valid token on a protected route, yet answered ${a.status}`);
    if (!anonymous && a.status === 401) fail(`a valid token was refused`);
  }
  return { answer: a, made };
}

/** The property: exchange() throws when an answer breaks a rule. */
const checked = async (r: FuzzRequest): Promise<void> => {
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

// --- generators -----------------------------------------------------------------------------

const UUID = "3f2b8c1e-9a4d-4e2f-8b1c-0d9e8f7a6b5c";
const METHODS = ["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD"];

/** Percent-encode every byte that is not unreserved: any string becomes a sendable path piece. */
const pct = (bytes: Uint8Array): string =>
  [...bytes]
    .map((b) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).padStart(2, "0").toUpperCase()}`,
    )
    .join("");

/** Characters node lets through in a header value (the rest throws ERR_INVALID_CHAR). */
const headerChar = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0x80, max: 0xff }),
  fc.constant(0x09),
);
const headerValue = fc
  .array(headerChar, { maxLength: 40 })
  .map((cs) => String.fromCharCode(...cs).trim());

/** Ids and names of things that exist (made by warmUp), so that some requests find them. */
const learned: string[] = [];
/** The same, grouped by the answer they came from, in order. */
const learnedRecords: string[][] = [];
const known = fc
  .constant(null)
  .chain(() => (learned.length === 0 ? fc.constant("fz") : fc.constantFrom(...learned)));

/** One path segment: plausible names, hostile constants, encoded unicode, invalid UTF-8, huge. */
const segment: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: known },
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,15}$/) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "",
      ".",
      "..",
      "%2e%2e",
      "%2E",
      "%",
      "%z",
      "%zz",
      "%E0%A4%A",
      "%00",
      "%0A",
      "%0d%0a",
      "%1F",
      "%7F",
      "%2F",
      "%252F",
      "..%2F..%2Fetc%2Fpasswd",
      "a%20b",
      "%C0%AF",
      "%ED%A0%80",
      "%EF%BB%BF",
      "~",
      "*",
      ":id",
      "{id}",
      "%FF%FE",
      "\u00e9",
      "\u00ff\u0080",
      "null",
      "undefined",
      "__proto__",
      "constructor",
      "hasOwnProperty",
      "0",
      "-1",
      "1e999",
      "self",
      "web",
      "fz",
      UUID,
      UUID.toUpperCase(),
      "00000000-0000-0000-0000-000000000000",
      "tok_0000000000000000",
      "a.b",
      "-a",
      "A_B",
      ";",
      "'",
      '"',
      "<script>",
      "$",
      "@",
      "=",
      "+",
      "&",
      "?",
      "#",
      "?recurse",
    ),
  },
  {
    weight: 2,
    arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }).map((s) => pct(Buffer.from(s))),
  },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 10 }).map(pct) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 1, maxLength: 6 })
      .map((cs) => String.fromCharCode(...cs)),
  },
  { weight: 1, arbitrary: fc.integer({ min: 4000, max: 9000 }).map((n) => "k".repeat(n)) },
  { weight: 1, arbitrary: fc.constant("") },
);

/** A `*rest` parameter: several segments (it may contain slashes), or one. */
const rest = fc.oneof(
  { weight: 2, arbitrary: known },
  { weight: 3, arbitrary: segment },
  { weight: 2, arbitrary: fc.array(segment, { maxLength: 4 }).map((s) => s.join("/")) },
);

/**
 * Paths whose parameters name things that exist together: taken in order from one warm-up
 * answer (`web`, `web-1`, `ttl` of one registration), the rest from words of the route's
 * summary (`pass`, `warn`, `fail`). Independent random segments would almost never line up.
 */
function consistentPath(route: RouteDef): fc.Arbitrary<string> {
  const segs = route.path.split("/").filter((x) => x !== "");
  const slots = segs.filter((x) => x.startsWith(":") || x.startsWith("*")).length;
  const words = [...new Set(route.summary.toLowerCase().match(/[a-z]+/g) ?? ["x"])];
  return fc
    .constant(null)
    .chain(() =>
      learnedRecords.length === 0
        ? fc.constant([] as string[])
        : fc.constantFrom(...learnedRecords),
    )
    .chain((rec) =>
      fc.tuple(
        fc.subarray(rec, { maxLength: Math.min(slots, rec.length) }),
        fc.array(fc.constantFrom(...words), { minLength: slots, maxLength: slots }),
      ),
    )
    .map(([picks, fill]) => {
      const values = [...picks, ...fill];
      let i = 0;
      return (
        "/" + segs.map((x) => (x.startsWith(":") || x.startsWith("*") ? values[i++]! : x)).join("/")
      );
    });
}

function pathOf(route: RouteDef): fc.Arbitrary<string> {
  const pattern = route.path;
  const parts = pattern
    .split("/")
    .filter((s) => s !== "")
    .map((s) =>
      s.startsWith(":")
        ? segment
        : s.startsWith("*")
          ? rest
          : fc.oneof(
              { weight: 30, arbitrary: fc.constant(s) },
              { weight: 1, arbitrary: fc.constantFrom(s.toUpperCase(), `${s}%00`, `${s}.`, "") },
            ),
    );
  const suffix = fc.oneof(
    { weight: 12, arbitrary: fc.constant("") },
    { weight: 1, arbitrary: fc.constantFrom("/", "//", "/..", "/.", "/%2e%2e/x", "/extra", ";x") },
  );
  const random = fc.tuple(fc.tuple(...parts), suffix).map(([ps, sfx]) => `/${ps.join("/")}${sfx}`);
  if (!/[:*]/.test(pattern)) return random;
  return fc.oneof(
    { weight: 4, arbitrary: random },
    { weight: 1, arbitrary: consistentPath(route) },
  );
}

/** Query parameter names a route's summary mentions (`?recurse`, `&wait`). */
const summaryParams = (r: RouteDef): string[] =>
  [...r.summary.matchAll(/[?&]([A-Za-z]+)/g)].map((m) => m[1]!);

/** The route's own query parameters first, then those of every route (mostly unknown to it). */
function queryNames(route: RouteDef): { own: string[]; any: string[] } {
  const base = ["recurse", "keys", "raw", "index", "wait", "revision", "cas", "lease", "start"];
  const any = [...new Set([...base, ...api.routes.flatMap(summaryParams)])];
  const own = summaryParams(route);
  return { own: own.length > 0 ? own : any, any };
}

const queryValue = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.constantFrom(
      "",
      "0",
      "1",
      "2",
      "true",
      "false",
      "yes",
      "-1",
      "1.5",
      "1e3",
      "NaN",
      "Infinity",
      "0x10",
      "+1",
      "007",
      "9007199254740991",
      "9007199254740993",
      "9999999999999999",
      "99999999999999999999",
      "1ms",
      "10ms",
      "0s",
      "5m",
      "1h",
      "-5s",
      "10000000m",
      "%",
      "%zz",
      "%00",
      "%0A",
      "%C3%A9",
      "%FF",
      "a%20b",
      UUID,
      "null",
      "[]",
      "passing",
      "fz/",
      "web",
    ),
  },
  { weight: 2, arbitrary: fc.nat().map(String) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: "grapheme", maxLength: 10 }).map((s) => pct(Buffer.from(s))),
  },
  { weight: 1, arbitrary: fc.constant("9".repeat(3000)) },
);

/** A parsed `wait` of more than a few milliseconds (short waits keep blocking reads quick). */
const longWait = (v: string): boolean => {
  const m = /^(\d{1,7})(ms|s|m)?$/.exec(v);
  return m === null || m[2] !== "ms" || Number(m[1]) > 20;
};

function queryOf(names: { own: string[]; any: string[] }): fc.Arbitrary<string> {
  const name = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...names.own) },
    { weight: 3, arbitrary: fc.constantFrom(...names.any) },
    { weight: 1, arbitrary: fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_.[\]-]{0,12}$/) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("", "%", "%00", "__proto__", "a[b]", "WAIT", "Recurse"),
    },
  );
  const pair = fc.tuple(name, queryValue, fc.boolean());
  return fc
    .record({
      pairs: fc.oneof(
        { weight: 2, arbitrary: fc.constant([] as [string, string, boolean][]) },
        { weight: 3, arbitrary: fc.array(pair, { minLength: 1, maxLength: 4 }) },
      ),
      allowLongWait: fc.integer({ min: 0, max: 40 }).map((n) => n === 0),
      raw: fc.oneof(
        { weight: 12, arbitrary: fc.constant("") },
        {
          weight: 1,
          arbitrary: fc.constantFrom("&&", "=", "&=&", "%%%", "?", "#frag", "&a=1&a=2"),
        },
      ),
    })
    .map(({ pairs, allowLongWait, raw }) => {
      // A blocking read waits up to `wait` (5 minutes when absent): keep almost all of them short.
      const kept = pairs
        .filter(([n, v]) => allowLongWait || n !== "wait" || !longWait(v))
        .map(([n, v, bare]) => (bare && v === "" ? n : `${n}=${v}`));
      if (!allowLongWait && kept.some((p) => p.split("=")[0] === "index"))
        kept.push(`wait=${pairs.length % 2 === 0 ? "1ms" : "5ms"}`);
      const q = kept.join("&") + raw;
      return q === "" ? "" : `?${q}`;
    });
}

/** Bodies shaped like the ones routes take, to be mutated into near misses. */
const SEEDS: unknown[] = [
  {
    compare: [{ key: "fz/guard", target: "version", op: "==", value: 0 }],
    success: [
      { type: "put", key: "fz/a", value: "1" },
      { type: "get", key: "fz/", recurse: true },
    ],
    failure: [{ type: "delete", key: "fz/b" }],
  },
  { name: "fuzz-token", policies: [{ resource: "kv", prefix: "fz/", access: "read" }] },
  { name: "fuzz-session", ttl: "10s", behavior: "release" },
  {
    service: "web",
    id: "web-1",
    node: "node-1",
    address: "127.0.0.1",
    port: 8080,
    tags: ["v1"],
    meta: { a: "b" },
    checks: [{ type: "ttl", ttl: "30s" }],
  },
  { status: "passing", output: "ok" },
  { name: "fz", ttl: 5 },
  {},
  null,
  [],
];

const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    -1,
    0,
    1.5,
    1e308,
    -1e308,
    2 ** 53 + 2,
    "",
    "x".repeat(5000),
    "\u0000",
    "a\nb",
    "../..",
    true,
    null,
    [],
    {},
    "__proto__",
    "10s",
    "0s",
    "-1s",
    "999999h",
  ),
  fc.string({ maxLength: 20 }),
);

type JsonPath = (string | number)[];

function pathsIn(v: unknown, at: JsonPath = []): JsonPath[] {
  const out: JsonPath[] = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...pathsIn(x, [...at, i])));
  else if (v !== null && typeof v === "object")
    for (const [k, x] of Object.entries(v)) out.push(...pathsIn(x, [...at, k]));
  return out;
}

/** A seed with one change: a field dropped, replaced, wrapped, or one added. */
const nearMiss = fc
  .record({
    seed: fc.constantFrom(...SEEDS),
    pick: fc.nat(),
    op: fc.constantFrom("drop", "replace", "replace", "add", "wrap"),
    value: weirdValue,
    extra: fc.constantFrom("extra", "__proto__", "constructor", "id", "type", "admin"),
  })
  .map(({ seed, pick, op, value, extra }) => {
    const root = structuredClone(seed) as unknown;
    const paths = pathsIn(root);
    const path = paths[pick % paths.length]!;
    if (path.length === 0) return op === "wrap" ? [root] : op === "replace" ? value : root;
    const parent = path
      .slice(0, -1)
      .reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], root) as Record<
      string | number,
      unknown
    >;
    const last = path.at(-1)!;
    if (op === "drop") {
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete parent[last];
    } else if (op === "replace") parent[last] = value;
    else if (op === "wrap") parent[last] = [parent[last]];
    else if (!Array.isArray(parent))
      Object.defineProperty(parent, extra, { value, enumerable: true });
    return root;
  });

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v) ?? "null");

const RAW_BODIES = [
  "{",
  "}",
  "[",
  '"',
  "nul",
  "tru",
  "1e",
  "-",
  '{"a":}',
  '{"a" 1}',
  "\ufeff{}",
  `\ufeff${JSON.stringify(SEEDS[2])}`,
  '{"__proto__":{"admin":true},"name":"fz"}',
  '{"name":"a","name":"b"}',
  "\u0000",
  "null",
  "0",
  "-0",
  "1e999",
  '"string"',
  "[[[[",
  "{}{}",
  '{"success":[{"type":"put","key":"fz/x","value":"1"}]} trailing',
].map((s) => Buffer.from(s));
RAW_BODIES.push(
  Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
  Buffer.from(JSON.stringify(SEEDS[1]), "utf16le"),
);

const bodyArb: fc.Arbitrary<Buffer | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }).map(json) },
  { weight: 8, arbitrary: nearMiss.map(json) },
  { weight: 2, arbitrary: fc.constantFrom(...SEEDS).map(json) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom(...SEEDS.slice(0, 5)), fc.nat()).map(([s, n]) => {
      const text = JSON.stringify(s);
      return Buffer.from(text.slice(0, n % text.length));
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1, max: 100_000 })
      .map((n) => Buffer.from("[".repeat(n) + "]".repeat(n))),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1, max: 20_000 })
      .map((n) => Buffer.from('{"name":'.repeat(n) + "1" + "}".repeat(n))),
  },
  { weight: 2, arbitrary: fc.constantFrom(...RAW_BODIES) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(100_000, MAX_VALUE_BYTES + 1, MAX_BODY_BYTES + 1)
      .map((n) => json({ name: "x".repeat(n) })),
  },
);

const headerName = fc
  .stringMatching(/^[a-z][a-z0-9-]{0,15}$/)
  .filter(
    (h) =>
      ![
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "authorization",
        "upgrade",
      ].includes(h),
  );

const someHeaders = fc.array(
  fc.oneof(
    fc.tuple(
      fc.constant("last-event-id"),
      fc.oneof(
        fc.constantFrom(
          "",
          "0",
          "1",
          "-1",
          "abc",
          "1.5",
          "1e3",
          "0x1",
          " 5",
          "9007199254740991",
          "9999999999999999",
          "99999999999999999",
        ),
        fc.nat().map(String),
        headerValue,
      ),
    ),
    fc.tuple(
      fc.constant("content-type"),
      fc.oneof(
        fc.constantFrom(
          "application/json",
          "text/plain",
          "application/octet-stream",
          "multipart/form-data; boundary=x",
          "application/x-www-form-urlencoded",
          "application/json; charset=utf-16",
        ),
        headerValue,
      ),
    ),
    fc.tuple(
      fc.constantFrom(
        "accept",
        "accept-encoding",
        "x-forwarded-for",
        "origin",
        "cookie",
        "if-none-match",
        "range",
      ),
      headerValue,
    ),
    fc.tuple(headerName, headerValue),
  ),
  { maxLength: 3 },
);
const headersArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant([] as [string, string][]) },
  { weight: 20, arbitrary: someHeaders },
  // Over node's 16 KB limit for the request head: refused by the HTTP parser.
  { weight: 1, arbitrary: fc.constant([["x-huge", "v".repeat(20_000)]] as [string, string][]) },
);

const b64 = (s: string): string => Buffer.from(s).toString("base64");

const goodAuth = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: "admin" as const, header: `Bearer ${ADMIN}` }) },
  {
    weight: 1,
    arbitrary: fc.constant({ kind: "admin" as const, header: `Basic ${b64(`git:${ADMIN}`)}` }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: "limited" as const, header: `Bearer ${LIMITED}` }) },
);

const badAuth = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: "none" as const }) },
  {
    weight: 4,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          "",
          "Bearer",
          "Bearer ",
          `bearer ${ADMIN}`,
          `Token ${ADMIN}`,
          "Bearer gty_",
          `Bearer ${ADMIN}x`,
          `Bearer ${ADMIN.slice(0, -1)}`,
          `Bearer ${ADMIN.toUpperCase()}`,
          "Basic",
          "Basic ",
          "Basic !!!",
          `Basic ${b64("git:")}`,
          `Basic ${b64(`git:${ADMIN}x`)}`,
          `Bearer ${"x".repeat(8000)}`,
          `Bearer ${newSecret()}`,
        ),
        headerValue.map((v) => `Bearer ${v}`),
        headerValue,
      )
      .map((header) => ({ kind: "bad" as const, header })),
  },
);

function requestArb(
  route: RouteDef,
  auth: fc.Arbitrary<FuzzRequest["auth"]>,
): fc.Arbitrary<FuzzRequest> {
  const names = queryNames(route);
  return fc
    .record({
      method: fc.oneof(
        { weight: 6, arbitrary: fc.constant(route.method) },
        { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
      ),
      path: pathOf(route),
      query: queryOf(names),
      auth,
      headers: headersArb,
      body: bodyArb,
      chunked: fc.boolean(),
    })
    .map(({ method, path, query, auth: a, headers, body, chunked }) => ({
      method,
      target: path + query,
      auth: a,
      headers,
      // fetch-style clients cannot send a body with HEAD; node can, but the server would then
      // answer a request whose body it never reads: not a case worth the noise.
      body: method === "HEAD" ? undefined : body,
      chunked,
    }));
}

/** Request targets that are not `/path`: absolute, authority-looking, asterisk. */
const oddTargets = fc.constantFrom(
  "//",
  "//[",
  "//[::1",
  "//x/v1/health",
  "///v1/health",
  "*",
  "http://x/v1/health",
  "http://[/v1/health",
  "v1/health",
  "/v1/health?%",
  "/?",
  "/%",
  "/v1/kv/a?recurse#x",
);

// --- the properties -------------------------------------------------------------------------

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

beforeAll(async () => {
  stats.current = "warm-up";
  await warmUp();
});

async function run(
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
        `FUZZ_PATH=${details.counterexamplePath} npx vitest run test/api-fuzz.test.ts -t '${stats.current}'\n${why}`,
    );
  }
}

describe("every route survives malformed requests", () => {
  for (const route of api.routes) {
    it(`${route.method} ${route.path}`, async () => {
      stats.current = `${route.method} ${route.path}`;
      await run(fc.asyncProperty(requestArb(route, goodAuth), checked), RUNS);
      await run(fc.asyncProperty(requestArb(route, badAuth), checked), Math.ceil(RUNS / 4));
    });
  }

  it("odd request targets", async () => {
    stats.current = "odd targets";
    const odd = fc.record({
      method: fc.constantFrom(...METHODS),
      target: oddTargets,
      auth: fc.oneof(goodAuth, badAuth),
      headers: fc.constant([] as [string, string][]),
      body: fc.constant(undefined),
      chunked: fc.constant(false),
    });
    await run(fc.asyncProperty(odd, checked), 60);
  });

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
