/** Request bodies for the API fuzz tests: seeds shaped like real ones, near misses, junk. */
import fc from "fast-check";
import { MAX_BODY_BYTES } from "../../src/api/context.js";
import { MAX_VALUE_BYTES } from "../../src/store/limits.js";

/** Bodies shaped like the ones routes take, to be mutated into near misses. */
export const SEEDS: unknown[] = [
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

export const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v) ?? "null");

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

export const bodyArb: fc.Arbitrary<Buffer | undefined> = fc.oneof(
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
