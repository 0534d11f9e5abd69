/** Whole requests for the API fuzz tests: method, target, headers, token and body. */
import fc from "fast-check";
import type { RouteDef } from "../../src/api/server.js";
import { newSecret } from "../../src/api/tokens.js";
import { bodyArb } from "./api-fuzz-bodies.js";
import { METHODS, pathOf, queryNames, queryOf } from "./api-fuzz-paths.js";
import { ADMIN, LIMITED, type FuzzRequest } from "./api-fuzz-server.js";

/** Characters node lets through in a header value (the rest throws ERR_INVALID_CHAR). */
const headerChar = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0x80, max: 0xff }),
  fc.constant(0x09),
);
const headerValue = fc
  .array(headerChar, { maxLength: 40 })
  .map((cs) => String.fromCharCode(...cs).trim());
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

export const goodAuth = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: "admin" as const, header: `Bearer ${ADMIN}` }) },
  {
    weight: 1,
    arbitrary: fc.constant({ kind: "admin" as const, header: `Basic ${b64(`git:${ADMIN}`)}` }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: "limited" as const, header: `Bearer ${LIMITED}` }) },
);

export const badAuth = fc.oneof(
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

export function requestArb(
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
export const oddTargets = fc.constantFrom(
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
