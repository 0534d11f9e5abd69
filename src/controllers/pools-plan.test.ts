import { describe, expect, it } from "vitest";
import { planPool, unhealthyAllowance } from "./pools-plan.js";
import { iso, kinds, node, record, T0, world } from "../../test/helpers/pool-world.js";

describe("planPool: scaling", () => {
  it.each([
    {
      case: "an empty pool of 3 creates web-1..3 at once",
      w: world([]),
      want: [
        "create web-1 10.100.6.1 (scale up)",
        "create web-2 10.100.6.2 (scale up)",
        "create web-3 10.100.6.3 (scale up)",
      ],
    },
    {
      case: "a gap is filled with the lowest free number",
      w: world([node(1), node(3)]),
      want: ["create web-2 10.100.6.2 (scale up)"],
    },
    {
      case: "creates run at most parallelCreates (10) at once, counting those under way",
      w: world([node(1, { machine: false, rec: { joinedAt: undefined } })], {
        record: record({ size: 12 }),
        inFlight: new Set(["web-1"]),
      }),
      want: Array.from({ length: 9 }, (_, i) => `create web-${i + 2} 10.100.6.${i + 2} (scale up)`),
    },
    {
      case: "a pool of its size does nothing",
      w: world([node(1), node(2), node(3)]),
      want: [],
    },
    {
      case: "scale down drains the highest numbers first",
      w: world([node(1), node(2), node(3), node(4)], { record: record({ size: 2 }) }),
      want: ["drain web-4", "drain web-3"],
    },
    {
      case: "pools:scale's size wins over the stack's",
      w: world([node(1), node(2), node(3)], { record: record({ scaledTo: 1 }) }),
      want: ["drain web-3", "drain web-2"],
    },
    {
      case: "a drained node with instances left waits",
      w: world(
        [node(1), node(2, { rec: { retiring: { since: iso(T0 - 1000), reason: "scaled down" } } })],
        {
          record: record({ size: 1 }),
          busy: new Set(["web-2"]),
        },
      ),
      want: [],
    },
    {
      case: "a drained node without instances is destroyed",
      w: world(
        [node(1), node(2, { rec: { retiring: { since: iso(T0 - 1000), reason: "scaled down" } } })],
        {
          record: record({ size: 1 }),
        },
      ),
      want: ["destroy web-2"],
    },
    {
      case: "a drained node still busy after the drain timeout is destroyed",
      w: world(
        [
          node(1),
          node(2, { rec: { retiring: { since: iso(T0 - 300_000), reason: "scaled down" } } }),
        ],
        {
          record: record({ size: 1 }),
          busy: new Set(["web-2"]),
        },
      ),
      want: ["destroy web-2"],
    },
    {
      case: "a drained node whose agent is gone is destroyed at once",
      w: world(
        [node(1), node(2, { rec: { retiring: { since: iso(T0 - 1000), reason: "scaled down" } } })],
        {
          record: record({ size: 1 }),
          busy: new Set(["web-2"]),
          dead: ["web-2"],
        },
      ),
      want: ["destroy web-2"],
    },
    {
      case: "a deleted pool drains everything",
      w: world([node(1), node(2)], { record: record({ deletedAt: iso(T0) }) }),
      want: ["drain web-2", "drain web-1"],
    },
    {
      case: "a deleted pool with no node left is removed",
      w: world([], { record: record({ deletedAt: iso(T0) }) }),
      want: ["deletePool"],
    },
    {
      case: "a machine without a record (an earlier leader's) counts as a member",
      w: world([node(1)], {
        machines: [node(1).machine!, node(2).machine!, node(3).machine!],
        live: ["web-1", "web-2", "web-3"],
      }),
      want: [],
    },
  ])("$case", ({ w, want }) => {
    expect(kinds(w)).toEqual(want);
  });

  it("reports the wake-up for a drain timeout", () => {
    const w = world(
      [node(1), node(2, { rec: { retiring: { since: iso(T0 - 1000), reason: "scaled down" } } })],
      { record: record({ size: 1 }), busy: new Set(["web-2"]) },
    );
    expect(planPool(w).wakeAt).toBe(T0 - 1000 + 300_000);
  });
});

describe("planPool: health and repair", () => {
  it.each([
    {
      case: "a stopped machine is repaired at once",
      w: world([node(1), node(2, { machine: "stopped" }), node(3)], { dead: ["web-2"] }),
      want: ["destroy web-2 (repair)"],
    },
    {
      case: "a node down shorter than repairAfter waits",
      w: world([node(1), node(2), node(3)], {
        dead: ["web-2"],
        downSince: new Map([["web-2", T0 - 59_000]]),
      }),
      want: [],
    },
    {
      case: "a node down longer than repairAfter is repaired",
      w: world([node(1), node(2), node(3)], {
        dead: ["web-2"],
        downSince: new Map([["web-2", T0 - 60_000]]),
      }),
      want: ["destroy web-2 (repair)"],
    },
    {
      case: "a node not joined within startTimeout is repaired",
      w: world([node(1), node(2, { rec: { joinedAt: undefined } }), node(3)]),
      want: ["destroy web-2 (repair)"],
    },
    {
      case: "a node not joined yet, within startTimeout, waits",
      w: world([
        node(1),
        node(2, { rec: { joinedAt: undefined, createdAt: iso(T0 - 5000) } }),
        node(3),
      ]),
      want: [],
    },
    {
      case: "repair keeps the instance number: the repairing record is created again",
      w: world([
        node(1),
        node(2, { machine: false, rec: { repairing: true, joinedAt: undefined } }),
        node(3),
      ]),
      want: ["create web-2 10.100.6.2 (repair)"],
    },
    {
      case: "repair keeps the instance number even with a lower gap",
      w: world(
        [node(2, { machine: false, rec: { repairing: true, joinedAt: undefined } }), node(3)],
        {
          record: record({ size: 2 }),
        },
      ),
      want: ["create web-2 10.100.6.2 (repair)"],
    },
    {
      case: "one repair at a time: a second unhealthy node waits for the first to join",
      w: world(
        [
          node(1, { machine: "stopped" }),
          node(2, { rec: { repairing: true, joinedAt: undefined, createdAt: iso(T0 - 1000) } }),
          node(3),
          node(4),
          node(5),
        ],
        { record: record({ size: 5 }), dead: ["web-1"] },
      ),
      want: [],
    },
    {
      case: "2 of 5 unhealthy at 40% are repaired (one at a time)",
      w: world(
        [
          node(1, { machine: "stopped" }),
          node(2, { machine: "stopped" }),
          node(3),
          node(4),
          node(5),
        ],
        {
          record: record({ size: 5 }),
        },
      ),
      want: ["destroy web-1 (repair)"],
    },
    {
      case: "3 of 5 unhealthy at 40%: no repairs",
      w: world(
        [
          node(1, { machine: "stopped" }),
          node(2, { machine: "stopped" }),
          node(3, { machine: "stopped" }),
          node(4),
          node(5),
        ],
        { record: record({ size: 5 }) },
      ),
      want: [],
    },
    {
      case: "a count: maxUnhealthy 1 halts at 2",
      w: world([node(1, { machine: "stopped" }), node(2, { machine: "stopped" }), node(3)], {
        record: record({ spec: { maxUnhealthy: 1 } }),
      }),
      want: [],
    },
  ])("$case", ({ w, want }) => {
    expect(kinds(w)).toEqual(want);
  });

  it("says why it halts, and shows each node's phase", () => {
    const w = world([node(1, { machine: "stopped" }), node(2), node(3), node(4), node(5)], {
      record: record({ size: 5 }),
      dead: ["web-2", "web-3"],
      downSince: new Map([
        ["web-2", T0 - 61_000],
        ["web-3", T0 - 70_000],
      ]),
    });
    const { status, actions } = planPool(w);
    expect(actions).toEqual([]);
    expect(status.halted).toBe(
      "3 of 5 nodes unhealthy (more than maxUnhealthy 40%): not repairing — a network partition must not destroy the fleet",
    );
    expect(status.nodes.map((n) => `${n.name} ${n.phase} ${n.reason ?? ""}`.trim())).toEqual([
      "web-1 unhealthy machine stopped",
      "web-2 unhealthy down for 61s",
      "web-3 unhealthy down for 70s",
      "web-4 ready",
      "web-5 ready",
    ]);
    expect(status).toMatchObject({ desired: 5, ready: 2, unhealthy: 3, joining: 0, repairing: 0 });
  });

  it("wakes up when a down node's repairAfter or a new node's startTimeout ends", () => {
    const down = world([node(1), node(2)], {
      record: record({ size: 2 }),
      dead: ["web-2"],
      downSince: new Map([["web-2", T0 - 1000]]),
    });
    expect(planPool(down).wakeAt).toBe(T0 - 1000 + 60_000);
    expect(planPool(down).status.nodes[1]).toMatchObject({ phase: "down", reason: "down for 1s" });
    const fresh = world([node(1, { rec: { joinedAt: undefined, createdAt: iso(T0 - 1000) } })], {
      record: record({ size: 1 }),
    });
    expect(planPool(fresh).wakeAt).toBe(T0 - 1000 + 600_000);
  });

  it("rounds a percentage down (half of four is more than 40%), but a small pool repairs one", () => {
    expect(unhealthyAllowance("40%", 5)).toBe(2);
    expect(unhealthyAllowance("40%", 4)).toBe(1);
    expect(unhealthyAllowance("40%", 3)).toBe(1);
    expect(unhealthyAllowance("50%", 4)).toBe(2);
    expect(unhealthyAllowance("40%", 2)).toBe(1);
    expect(unhealthyAllowance("40%", 1)).toBe(1);
    expect(unhealthyAllowance("0%", 5)).toBe(0);
    expect(unhealthyAllowance(3, 5)).toBe(3);
  });

  it("counts a node with roles ready only once it has converged", () => {
    const w = world([node(1)], { record: record({ size: 1, spec: { roles: ["web"] } }) });
    expect(planPool(w).status.nodes[0]).toMatchObject({ phase: "joining", reason: "converging" });
    expect(planPool({ ...w, converged: new Set(["web-1"]) }).status.ready).toBe(1);
  });
});
