/**
 * The quorum guard's decisions, over a probe whose answer the test sets (the real thing, on a
 * real etcd cluster, is in test/quorum-loss.test.ts).
 */
import { afterEach, describe, expect, it } from "vitest";
import { NoQuorumError, UnavailableError } from "../errors.js";
import type { Token } from "./connection.js";
import { QuorumGuard } from "./quorum-guard.js";
import { verdictOf, type QuorumProbe, type QuorumView } from "./quorum.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let view: Omit<QuorumView, "at">;
let looks = 0;
const probe = {
  get latest(): QuorumView | undefined {
    return looks === 0 ? undefined : { ...view, at: Date.now() };
  },
  view: async () => probe.probe(),
  probe: async () => {
    looks++;
    return { ...view, at: Date.now() };
  },
} as unknown as QuorumProbe;

const guards: QuorumGuard[] = [];
function guard(): QuorumGuard {
  looks = 0;
  const g = new QuorumGuard(probe);
  guards.push(g);
  return g;
}
afterEach(() => {
  for (const g of guards.splice(0)) g.close();
});

const LOST = { voters: 3, reachable: 1, slow: 0, leader: false, term: 0 };
const ELECTING = { voters: 3, reachable: 2, slow: 0, leader: false, term: 0 };
const OK = { voters: 3, reachable: 3, slow: 0, leader: true, term: 2 };
const SLOW = { voters: 3, reachable: 1, slow: 2, leader: true, term: 2 };

/** A request that never answers until `answer` is called (and then only if not abandoned). */
function hanging<T>(): { start: (t: Token) => Promise<T>; token: () => Token | undefined } {
  let token: Token | undefined;
  return {
    start: (t) => {
      token = t;
      return new Promise<T>(() => undefined);
    },
    token: () => token,
  };
}

describe("verdictOf", () => {
  it("is lost without a majority, electing without a leader, ok otherwise", () => {
    expect(verdictOf({ ...LOST, at: 0 })).toBe("lost");
    expect(verdictOf({ voters: 2, reachable: 1, slow: 0, leader: true, term: 1, at: 0 })).toBe(
      "lost",
    );
    expect(verdictOf({ ...SLOW, at: 0 })).toBe("unsure");
    expect(verdictOf({ ...ELECTING, at: 0 })).toBe("electing");
    expect(verdictOf({ ...OK, at: 0 })).toBe("ok");
  });
});

describe("QuorumGuard", () => {
  it("adds no look to a request that answers in time", async () => {
    const g = guard();
    view = LOST;
    expect(await g.write(async () => "done")).toBe("done");
    await sleep(300);
    expect(looks).toBe(0);
    expect(g.degraded).toBeUndefined();
  });

  it("abandons a waiting write once no majority answers, the next sooner", async () => {
    const g = guard();
    view = LOST;
    const w = hanging<string>();
    const began = Date.now();
    const err = await g.write(w.start).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoQuorumError);
    expect((err as Error).message).toBe(
      "the control plane has lost quorum: 1 of 3 servers reachable; read-only",
    );
    expect(Date.now() - began).toBeLessThan(1_000);
    expect(w.token()?.stopped).toBe(true);
    expect(g.degraded).toMatchObject({ voters: 3, reachable: 1 });

    // While degraded the next is still sent (it would go through once a leader is back), and
    // abandoned sooner.
    const w2 = hanging<string>();
    const again = Date.now();
    expect(await g.write(w2.start).catch((e: unknown) => e)).toBeInstanceOf(NoQuorumError);
    expect(Date.now() - again).toBeLessThan(400);
    expect(w2.token()?.stopped).toBe(true);
  });

  it("serves a waiting read locally once no majority answers, then reads locally at once", async () => {
    const g = guard();
    view = LOST;
    const calls: boolean[] = [];
    const read = (token: Token, local: boolean): Promise<{ rev: number }> => {
      calls.push(local);
      return local ? Promise.resolve({ rev: 42 }) : hanging<{ rev: number }>().start(token);
    };
    expect(await g.read(read, (r) => r.rev)).toEqual({ rev: 42 });
    expect(calls).toEqual([false, true]);
    expect(g.degraded?.revision).toBe(42);
    expect(await g.read(read, (r) => r.rev)).toEqual({ rev: 42 });
    expect(calls).toEqual([false, true, true]);
  });

  it("ends the degraded state when a majority with a leader answers again", async () => {
    const g = guard();
    view = LOST;
    await g.write(hanging<string>().start).catch(() => undefined);
    expect(g.degraded).toBeDefined();
    view = OK;
    await sleep(700);
    expect(g.degraded).toBeUndefined();
    expect(await g.write(async () => "again")).toBe("again");
  });

  it("lets a write wait through an election; a read waits 1.5 s, then goes local", async () => {
    const g = guard();
    view = ELECTING;
    const w = hanging<string>();
    let settled = false;
    void g.write(w.start).then(
      () => (settled = true),
      () => (settled = true),
    );
    const began = Date.now();
    const local = await g.read(
      (token, isLocal) =>
        isLocal ? Promise.resolve({ rev: 7 }) : hanging<{ rev: number }>().start(token),
      (r) => r.rev,
    );
    expect(local).toEqual({ rev: 7 });
    expect(Date.now() - began).toBeGreaterThanOrEqual(1_400);
    expect(settled).toBe(false);
    expect(w.token()?.stopped).toBe(false);
    // An election is plausible: writes are not refused.
    expect(await g.write(async () => "elected")).toBe("elected");
  });

  it("gives up on a request stuck on a leader that died once a newer one leads", async () => {
    const g = guard();
    view = OK;
    // An answer at term 2, then the leader dies and term 3 elects a new one.
    await g.write(async () => ({ header: { raft_term: "2" } }));
    view = { ...OK, term: 3 };
    const w = hanging<string>();
    const began = Date.now();
    const err = await g.write(w.start).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err).not.toBeInstanceOf(NoQuorumError);
    expect((err as Error).message).toMatch(/leader changed .* may or may not have been applied/);
    expect(Date.now() - began).toBeLessThan(1_500);
    expect(g.degraded).toBeUndefined();
    // A read is sent again.
    let attempts = 0;
    const read = await g.read(
      (token) =>
        ++attempts === 1 ? hanging<{ rev: number }>().start(token) : Promise.resolve({ rev: 9 }),
      (r) => r.rev,
    );
    expect(read).toEqual({ rev: 9 });
    expect(attempts).toBe(2);
  });

  it("calls members that answer late lost only when a second look finds them late too", async () => {
    const g = guard();
    view = SLOW;
    const w = hanging<string>();
    const began = Date.now();
    const err = await g.write(w.start).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoQuorumError);
    expect(Date.now() - began).toBeGreaterThanOrEqual(500);
    expect(Date.now() - began).toBeLessThan(1_500);
    expect(looks).toBeGreaterThanOrEqual(2);
  });

  it("does not give up on a slow request while others are answered after it was sent", async () => {
    const g = guard();
    view = LOST;
    const w = hanging<string>();
    let settled = false;
    void g.write(w.start).then(
      () => (settled = true),
      () => (settled = true),
    );
    // A busy cluster: answers keep coming although the look (timed out) found too few members.
    for (let i = 0; i < 12; i++) {
      await sleep(50);
      await g.write(async () => "answered");
    }
    expect(settled).toBe(false);
    expect(g.degraded).toBeUndefined();
    // Once nothing answers any more, it is given up on.
    await sleep(1_000);
    expect(settled).toBe(true);
    expect(w.token()?.stopped).toBe(true);
  });
});
