import { describe, expect, it } from "vitest";
import { backoffMs, planPool } from "./pools-plan.js";
import { iso, kinds, node, record, T0, world } from "../../test/helpers/pool-world.js";

describe("planPool: failed creates back off", () => {
  it("doubles from 1 s to 5 min", () => {
    expect([1, 2, 3, 4, 9, 10, 30].map(backoffMs)).toEqual([
      1000, 2000, 4000, 8000, 256_000, 300_000, 300_000,
    ]);
  });

  it.each([
    { attempts: 1, ago: 500, creates: false },
    { attempts: 1, ago: 1000, creates: true },
    { attempts: 3, ago: 3999, creates: false },
    { attempts: 3, ago: 4000, creates: true },
  ])(
    "after $attempts failure(s), $ago ms later: creates=$creates",
    ({ attempts, ago, creates }) => {
      const w = world([node(1), node(2, { machine: false, rec: { joinedAt: undefined } })], {
        record: record({ size: 2 }),
        failure: { attempts, at: T0 - ago, message: "no room" },
      });
      const plan = planPool(w);
      expect(plan.actions.length > 0).toBe(creates);
      if (!creates) expect(plan.wakeAt).toBe(T0 - ago + backoffMs(attempts));
      else expect(kinds(w)).toEqual(["create web-2 10.100.6.2 (retry)"]);
    },
  );
});

describe("planPool: rolling replacement", () => {
  const stale = { rec: { settingsHash: "h0" } };
  it.each([
    {
      case: "a node made with other settings gets a surge node first (next free number)",
      w: world([node(1, stale), node(2, stale), node(3)]),
      want: ["create web-4 10.100.6.4 (surge for web-1)"],
    },
    {
      case: "the surge node not ready yet: wait",
      w: world([
        node(1, stale),
        node(2, stale),
        node(3),
        node(4, { rec: { surgeFor: "web-1", joinedAt: undefined, createdAt: iso(T0 - 1000) } }),
      ]),
      want: [],
    },
    {
      case: "the surge node ready: the old one is drained",
      w: world([node(1, stale), node(2, stale), node(3), node(4, { rec: { surgeFor: "web-1" } })]),
      want: ["drain web-1"],
    },
    {
      case: "one at a time: the next waits while the old one drains",
      w: world(
        [
          node(1, {
            rec: {
              settingsHash: "h0",
              retiring: { since: iso(T0 - 1000), reason: "replaced by web-4" },
            },
          }),
          node(2, stale),
          node(3),
          node(4, { rec: { surgeFor: "web-1" } }),
        ],
        { busy: new Set(["web-1"]) },
      ),
      want: [],
    },
    {
      case: "the old one gone: the next stale node gets its surge, taking the freed number",
      w: world([node(2, stale), node(3), node(4, { rec: { surgeFor: "web-1" } })]),
      want: ["create web-1 10.100.6.1 (surge for web-2)"],
    },
    {
      case: "a node made later under a replaced node's name is not mistaken for the old one",
      w: world([
        node(1, { rec: { surgeFor: "web-2", createdAt: iso(T0 - 1000), joinedAt: iso(T0 - 900) } }),
        node(2, stale),
        node(3),
        node(4, { rec: { surgeFor: "web-1", createdAt: iso(T0 - 5000) } }),
      ]),
      want: ["drain web-2"],
    },
    {
      case: "pools:replace names a node made before the request",
      w: world([node(1), node(2), node(3)], {
        record: record({ replace: { nodes: ["web-2"], requestedAt: iso(T0 - 1000) } }),
      }),
      want: ["create web-4 10.100.6.4 (surge for web-2)"],
    },
    {
      case: "pools:replace is done once the node is newer than the request",
      w: world([node(1), node(2), node(3)], {
        record: record({ replace: { nodes: ["web-2"], requestedAt: iso(T0 - 900_000) } }),
      }),
      want: [],
    },
    {
      case: "no roll while a node is unhealthy (repair first)",
      w: world([node(1, stale), node(2, { machine: "stopped" }), node(3)]),
      want: ["destroy web-2 (repair)"],
    },
  ])("$case", ({ w, want }) => {
    expect(kinds(w)).toEqual(want);
  });

  it("a failed surge pauses the roll and says why", () => {
    const w = world(
      [
        node(1, stale),
        node(2),
        node(3),
        node(4, { machine: false, rec: { surgeFor: "web-1", joinedAt: undefined } }),
      ],
      { failure: { attempts: 2, at: T0 - 100, message: "quota exceeded" } },
    );
    const plan = planPool(w);
    expect(plan.actions).toEqual([]);
    expect(plan.status.halted).toBe(
      "rolling replacement paused: web-4 (replacing web-1) is not created: quota exceeded",
    );
    const unhealthy = world([
      node(1, { rec: { settingsHash: "h0", createdAt: iso(T0 - 900_000) } }),
      node(2),
      node(3),
      node(4, { rec: { surgeFor: "web-1", joinedAt: undefined, createdAt: iso(T0 - 700_000) } }),
    ]);
    const p2 = planPool(unhealthy);
    expect(p2.status.halted).toMatch(
      /^rolling replacement paused: web-4 \(replacing web-1\) is unhealthy: not joined within 10m/,
    );
    // …and the surge node itself is repaired like any other.
    expect(kinds(unhealthy)).toEqual(["destroy web-4 (repair)"]);
  });
});
