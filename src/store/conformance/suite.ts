import { describe } from "vitest";
import { compactionTests } from "./compaction.js";
import { kvTests } from "./kv.js";
import { leaseTests } from "./lease.js";
import { limitTests } from "./limits.js";
import { scaleTests } from "./scale.js";
import type { ConformanceTarget } from "./target.js";
import { txnTests } from "./txn.js";
import { watchTests } from "./watch.js";

export type { ConformanceTarget } from "./target.js";

/**
 * The Store contract: every backend runs this suite unchanged from its own test file, e.g.
 *   runStoreConformance({ name: "sqlite", store: () => s, client: async () => s, ... })
 */
export function runStoreConformance(target: ConformanceTarget): void {
  describe(`Store conformance: ${target.name}`, () => {
    kvTests(target);
    txnTests(target);
    leaseTests(target);
    watchTests(target);
    compactionTests(target);
    limitTests(target);
    scaleTests(target);
  });
}
