/**
 * Request targets for the API fuzz tests: path segments (plausible names, hostile constants,
 * encoded bytes, names of things that exist) and query strings, built from each route's pattern
 * and the parameters its summary mentions.
 */
import fc from "fast-check";
import type { RouteDef } from "../../src/api/server.js";
import { api } from "./api-fuzz-server.js";

const UUID = "3f2b8c1e-9a4d-4e2f-8b1c-0d9e8f7a6b5c";
export const METHODS = ["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD"];

/** Percent-encode every byte that is not unreserved: any string becomes a sendable path piece. */
const pct = (bytes: Uint8Array): string =>
  [...bytes]
    .map((b) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).padStart(2, "0").toUpperCase()}`,
    )
    .join("");

/** Ids and names of things that exist (made by warmUp), so that some requests find them. */
export const learned: string[] = [];
/** The same, grouped by the answer they came from, in order. */
export const learnedRecords: string[][] = [];
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

export function pathOf(route: RouteDef): fc.Arbitrary<string> {
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
export function queryNames(route: RouteDef): { own: string[]; any: string[] } {
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

export function queryOf(names: { own: string[]; any: string[] }): fc.Arbitrary<string> {
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
