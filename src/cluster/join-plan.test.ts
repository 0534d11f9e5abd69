import { describe, expect, it } from "vitest";
import { initialCluster, planJoin, STALE_LEARNER_MS, type JoinView } from "./join-plan.js";
import type { Member } from "./membership.js";

const NOW = Date.parse("2026-12-07T20:00:00Z");
const voter = (n: number): Member => ({
  id: `${n}`,
  name: `s${n}`,
  peerUrls: [`http://127.0.0.1:${2380 + n}`],
  clientUrls: [`http://127.0.0.1:${2370 + n}`],
  isLearner: false,
});
const unstarted = (n: number): Member => ({
  id: `${n}`,
  name: "",
  peerUrls: [`http://127.0.0.1:${2380 + n}`],
  clientUrls: [],
  isLearner: true,
});
const joiner = { name: "s9", peerUrl: "http://127.0.0.1:2389" };
const view = (p: Partial<JoinView>): JoinView => ({
  members: [voter(1), voter(2), voter(3)],
  silent: new Set(),
  learners: new Map(),
  joiner,
  now: NOW,
  ...p,
});
const rec = (name: string, agoMs: number) => ({
  name,
  peerUrl: "http://x",
  addedAt: new Date(NOW - agoMs).toISOString(),
});
const removed = (v: JoinView): string[] => {
  const p = planJoin(v);
  if ("refuse" in p) throw new Error(p.refuse.message);
  return p.remove.map((r) => r.member.id);
};

describe("planJoin", () => {
  it("a healthy cluster: nothing to remove", () => {
    expect(removed(view({}))).toEqual([]);
  });

  it("a pending learner refuses the join, naming it and its age", () => {
    const p = planJoin(
      view({
        members: [voter(1), voter(2), unstarted(4)],
        learners: new Map([["4", rec("s4", 12_000)]]),
      }),
    );
    expect(p).toEqual({
      refuse: {
        status: 409,
        code: "learner_pending",
        message:
          "server s4 is still joining as a learner (added 12s ago); join again once it is promoted (see gantry servers)",
      },
    });
  });

  it("a started learner that answers is pending however old it is", () => {
    const l = { ...voter(4), isLearner: true };
    const p = planJoin(
      view({ members: [voter(1), l], learners: new Map([["4", rec("s4", 1e6)]]) }),
    );
    expect("refuse" in p && p.refuse.code).toBe("learner_pending");
  });

  it("a learner that never started, older than the limit (or without a record), is removed first", () => {
    const old = new Map([["4", rec("s4", STALE_LEARNER_MS + 1)]]);
    expect(removed(view({ members: [voter(1), voter(2), unstarted(4)], learners: old }))).toEqual([
      "4",
    ]);
    expect(removed(view({ members: [voter(1), voter(2), unstarted(4)] }))).toEqual(["4"]);
  });

  it("the joiner's own never-started learner is replaced at once; a silent started learner after the limit", () => {
    const own = { ...unstarted(9) };
    expect(
      removed(view({ members: [voter(1), own], learners: new Map([["9", rec("s9", 1000)]]) })),
    ).toEqual(["9"]);
    const l = { ...voter(4), isLearner: true };
    const silent = new Set(["4"]);
    expect(
      removed(
        view({ members: [voter(1), l], silent, learners: new Map([["4", rec("s4", 31_000)]]) }),
      ),
    ).toEqual(["4"]);
    const young = planJoin(
      view({ members: [voter(1), l], silent, learners: new Map([["4", rec("s4", 5_000)]]) }),
    );
    expect("refuse" in young && young.refuse.code).toBe("learner_pending");
  });

  it("a silent voter is removed first when the others keep a majority; the joiner may take its name", () => {
    expect(removed(view({ silent: new Set(["2"]) }))).toEqual(["2"]);
    expect(removed(view({ silent: new Set(["2"]), joiner: { ...joiner, name: "s2" } }))).toEqual([
      "2",
    ]);
    // 5 voters, 2 silent: 3 of the 3 left answer.
    const five = [1, 2, 3, 4, 5].map(voter);
    expect(removed(view({ members: five, silent: new Set(["4", "5"]) }))).toEqual(["4", "5"]);
  });

  it("without a majority answering, nothing is removed and the join is refused", () => {
    const p = planJoin(view({ silent: new Set(["2", "3"]) }));
    expect("refuse" in p && p.refuse).toEqual({
      status: 503,
      code: "cluster_unhealthy",
      message: expect.stringMatching(/^servers s2, s3 do not answer and only 1 of 3 answer/),
    });
  });

  it("a name or peer URL of a member that answers is refused", () => {
    const p = planJoin(view({ joiner: { ...joiner, name: "s2" } }));
    expect("refuse" in p && p.refuse.code).toBe("name_taken");
    expect("refuse" in p && p.refuse.message).toMatch(/^server name s2 is taken .*member 2/);
    const q = planJoin(view({ joiner: { ...joiner, peerUrl: "http://127.0.0.1:2381" } }));
    expect("refuse" in q && q.refuse.code).toBe("peer_url_taken");
  });

  it("initialCluster names every member, the new one by its name", () => {
    const members = [voter(1), voter(2), unstarted(9)];
    expect(initialCluster(members, "9", "s9")).toBe(
      "s1=http://127.0.0.1:2381,s2=http://127.0.0.1:2382,s9=http://127.0.0.1:2389",
    );
  });
});
