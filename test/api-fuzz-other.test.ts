/**
 * Property-based fuzzing (fast-check) of every route no other api-fuzz file claims (health,
 * metrics, converge, stack, registry, OpenAPI, and any route added later), and of request
 * targets that are not a path at all. The rules every answer must keep, and how to replay a
 * failure, are in test/helpers/api-fuzz-server.ts and test/helpers/api-fuzz-run.ts.
 */
import fc from "fast-check";
import { describe, it } from "vitest";
import { METHODS } from "./helpers/api-fuzz-paths.js";
import { badAuth, goodAuth, oddTargets } from "./helpers/api-fuzz-requests.js";
import { fuzzRoutes, run } from "./helpers/api-fuzz-run.js";
import { checked, stats } from "./helpers/api-fuzz-server.js";

fuzzRoutes("other");

describe("requests that name no path", () => {
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
});
