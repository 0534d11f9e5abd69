import { describe, expect, it } from "vitest";
import {
  AUTOPILOT_DEFAULTS,
  decide,
  HealthTracker,
  majority,
  unreachableFor,
  type AutopilotConfig,
  type MemberHealth,
} from "./autopilot.js";

const T0 = 1_000_000;
const cfg: AutopilotConfig = { deadServerCleanupMs: 30_000, minServers: 2 };

/** A voter alive now, or failing since `deadFor` ms before `now`. */
function m(
  id: string,
  state: "alive" | "unknown" | { deadFor: number },
  opts: { learner?: boolean; now?: number } = {},
): MemberHealth {
  const now = opts.now ?? T0 + 100_000;
  const base = { id, name: `s-${id}`, isLearner: opts.learner === true };
  if (state === "alive") return { ...base, alive: true, lastContact: now - 500 };
  if (state === "unknown") return { ...base, alive: undefined };
  return { ...base, alive: false, failingSince: now - state.deadFor };
}

const NOW = T0 + 100_000;
const dead = { deadFor: 31_000 };

describe("majority", () => {
  it("is more than half", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(majority)).toEqual([1, 2, 2, 3, 3, 4, 4]);
  });
});

describe("decide: 3 voters", () => {
  it("removes the one dead voter (2 live remain, a majority of 2)", () => {
    const d = decide([m("1", "alive"), m("2", "alive"), m("3", dead)], cfg, NOW, T0);
    expect(d).toEqual({
      action: "remove",
      member: { id: "3", name: "s-3", isLearner: false, unreachableMs: 31_000 },
    });
  });

  it("removes nothing with two dead: one live voter is no quorum", () => {
    const d = decide([m("1", "alive"), m("2", dead), m("3", dead)], cfg, NOW, T0);
    expect(d.action).toBe("none");
    if (d.action !== "none") return;
    expect(d.kept.map((k) => k.member.id).sort()).toEqual(["2", "3"]);
    expect(d.kept[0]!.reason).toBe("no quorum: 1 of 3 voters reachable");
  });

  it("keeps a dead voter with --min-servers 3", () => {
    const d = decide(
      [m("1", "alive"), m("2", "alive"), m("3", dead)],
      { ...cfg, minServers: 3 },
      NOW,
      T0,
    );
    expect(d).toEqual({
      action: "none",
      kept: [
        {
          member: { id: "3", name: "s-3", isLearner: false, unreachableMs: 31_000 },
          reason: "3 voters, and --min-servers is 3",
        },
      ],
    });
  });

  it("removes nothing with 2 voters, one dead (no quorum), whatever --min-servers", () => {
    for (const minServers of [1, 2]) {
      const d = decide([m("1", "alive"), m("2", dead)], { ...cfg, minServers }, NOW, T0);
      expect(d.action).toBe("none");
    }
  });

  it("with --min-servers 1 a 3-voter cluster goes down to 2, not further (quorum)", () => {
    const one = { ...cfg, minServers: 1 };
    expect(decide([m("1", "alive"), m("2", "alive"), m("3", dead)], one, NOW, T0).action).toBe(
      "remove",
    );
    expect(decide([m("1", "alive"), m("2", dead)], one, NOW, T0).action).toBe("none");
  });
});

describe("decide: 5 voters", () => {
  const five = (...states: ("alive" | typeof dead)[]): MemberHealth[] =>
    states.map((s, i) => m(String(i + 1), s));

  it("removes one of two dead voters per pass, the longest dead first", () => {
    const members = five("alive", "alive", "alive", dead, { deadFor: 40_000 });
    const d = decide(members, cfg, NOW, T0);
    expect(d.action === "remove" && d.member.id).toBe("5");
    // The next pass, with 4 voters left: the other one goes too (3 live of 3 left).
    const next = decide(members.slice(0, 4), cfg, NOW, T0);
    expect(next.action === "remove" && next.member.id).toBe("4");
  });

  it("removes nothing with three dead (2 of 5 live is no quorum)", () => {
    const d = decide(five("alive", "alive", dead, dead, dead), cfg, NOW, T0);
    expect(d.action).toBe("none");
    if (d.action === "none") expect(d.kept).toHaveLength(3);
  });

  it("stops at --min-servers", () => {
    const d = decide(
      five("alive", "alive", "alive", dead, dead),
      { ...cfg, minServers: 5 },
      NOW,
      T0,
    );
    expect(d.action).toBe("none");
    const four = decide(
      five("alive", "alive", "alive", dead, dead),
      { ...cfg, minServers: 4 },
      NOW,
      T0,
    );
    expect(four.action).toBe("remove");
  });

  it("counts a member never heard from as not live", () => {
    // 2 live + 1 unknown of 5: no quorum that can be shown, so nothing goes.
    const d = decide(
      [m("1", "alive"), m("2", "alive"), m("3", "unknown"), m("4", dead), m("5", dead)],
      cfg,
      NOW,
      T0,
    );
    expect(d.action).toBe("none");
  });
});

describe("decide: the clock", () => {
  it("a member unreachable for less than the delay stays", () => {
    const d = decide([m("1", "alive"), m("2", "alive"), m("3", { deadFor: 29_000 })], cfg, NOW, T0);
    expect(d).toEqual({ action: "none", kept: [] });
  });

  it("exactly the delay is not longer than it", () => {
    const d = decide([m("1", "alive"), m("2", "alive"), m("3", { deadFor: 30_000 })], cfg, NOW, T0);
    expect(d.action).toBe("none");
  });

  it("a new leader gives every member the full delay again", () => {
    const members = [m("1", "alive"), m("2", "alive"), m("3", { deadFor: 60_000 })];
    // This leader's autopilot started 10 s ago: the member has been dead 10 s as far as it knows.
    expect(decide(members, cfg, NOW, NOW - 10_000).action).toBe("none");
    expect(decide(members, cfg, NOW, NOW - 31_000).action).toBe("remove");
    expect(unreachableFor(members[2]!, NOW, NOW - 10_000)).toBe(10_000);
  });

  it("uses the configured delay", () => {
    const members = [m("1", "alive"), m("2", "alive"), m("3", { deadFor: 2_500 })];
    expect(decide(members, { ...cfg, deadServerCleanupMs: 2_000 }, NOW, T0).action).toBe("remove");
    expect(decide(members, AUTOPILOT_DEFAULTS, NOW, T0).action).toBe("none");
  });
});

describe("decide: a member whose server lives", () => {
  it("is kept, saying why, and the next dead one is considered", () => {
    const members = [
      m("1", "alive"),
      m("2", "alive"),
      m("3", "alive"),
      { ...m("4", { deadFor: 90_000 }), serverAlive: true },
      m("5", dead),
    ];
    const d = decide(members, cfg, NOW, T0);
    expect(d.action === "remove" && d.member.id).toBe("5");
    const only = decide(members.slice(0, 4), cfg, NOW, T0);
    expect(only.action).toBe("none");
    if (only.action === "none")
      expect(only.kept[0]!.reason).toMatch(/still renews its record.*--etcd-client-addr/);
  });
});

describe("decide: learners", () => {
  it("removes a dead learner first, before a dead voter", () => {
    const d = decide(
      [
        m("1", "alive"),
        m("2", "alive"),
        m("3", "alive"),
        m("4", "alive"),
        m("5", { deadFor: 90_000 }),
        m("9", dead, { learner: true }),
      ],
      cfg,
      NOW,
      T0,
    );
    expect(d.action === "remove" && d.member).toMatchObject({ id: "9", isLearner: true });
  });

  it("a learner is no voter: it counts neither for quorum nor for --min-servers", () => {
    // 2 voters, both alive, a dead learner: the learner goes even with --min-servers 2.
    const d = decide(
      [m("1", "alive"), m("2", "alive"), m("9", dead, { learner: true })],
      cfg,
      NOW,
      T0,
    );
    expect(d.action === "remove" && d.member.id).toBe("9");
    // An alive learner does not make up for a dead voter's quorum.
    const noQuorum = decide(
      [m("1", "alive"), m("2", dead), m("3", dead), m("9", "alive", { learner: true })],
      cfg,
      NOW,
      T0,
    );
    expect(noQuorum.action).toBe("none");
  });

  it("a learner that never started is left to the server join", () => {
    const d = decide(
      [
        m("1", "alive"),
        m("2", "alive"),
        m("3", "alive"),
        { ...m("9", { deadFor: 600_000 }, { learner: true }), name: "", neverStarted: true },
      ],
      cfg,
      NOW,
      T0,
    );
    expect(d).toEqual({ action: "none", kept: [] });
  });

  it("a dead learner of a cluster without quorum stays (nothing can be removed)", () => {
    const d = decide(
      [m("1", "alive"), m("2", dead), m("3", dead), m("9", dead, { learner: true })],
      cfg,
      NOW,
      T0,
    );
    expect(d.action).toBe("none");
  });
});

describe("HealthTracker: slow is not dead", () => {
  it("starts the clock at the first failed probe and keeps it across failures", () => {
    const h = new HealthTracker();
    h.record("a", true, T0, T0 + 10);
    h.record("a", false, T0 + 1_000, T0 + 6_000);
    h.record("a", false, T0 + 6_000, T0 + 11_000);
    expect(h.get("a")).toEqual({ alive: false, lastContact: T0 + 10, failingSince: T0 + 1_000 });
    expect(unreachableFor(h.get("a"), T0 + 32_000, 0)).toBe(31_000);
  });

  it("a member that answers slowly, but answers, never accrues unreachable time", () => {
    const h = new HealthTracker();
    // Each status takes 4.9 s (under a 5 s timeout) for two minutes.
    for (let t = T0; t < T0 + 120_000; t += 5_000) h.record("slow", true, t, t + 4_900);
    const health = h.get("slow");
    expect(health.alive).toBe(true);
    expect(unreachableFor(health, T0 + 120_000, T0)).toBe(0);
    const d = decide(
      [m("1", "alive"), m("2", "alive"), { id: "slow", name: "slow", isLearner: false, ...health }],
      cfg,
      T0 + 120_000,
      T0,
    );
    expect(d).toEqual({ action: "none", kept: [] });
  });

  it("a member that recovers resets its clock", () => {
    const h = new HealthTracker();
    h.record("a", false, T0, T0 + 1);
    h.record("a", false, T0 + 20_000, T0 + 20_001);
    h.record("a", true, T0 + 25_000, T0 + 25_010);
    expect(h.get("a")).toEqual({ alive: true, lastContact: T0 + 25_010 });
    h.record("a", false, T0 + 26_000, T0 + 26_001);
    // Counted from the new failure, not the old one: 10 s, not 36 s.
    expect(unreachableFor(h.get("a"), T0 + 36_000, 0)).toBe(10_000);
  });

  it("retain forgets removed members; an unknown member is not alive", () => {
    const h = new HealthTracker();
    h.record("a", true, T0, T0);
    h.record("b", true, T0, T0);
    h.retain(new Set(["b"]));
    expect(h.get("a")).toEqual({ alive: undefined });
    expect(h.get("b").alive).toBe(true);
    expect(unreachableFor(h.get("a"), T0 + 99_000, 0)).toBe(0);
  });
});
