import { describe, expect, it } from "vitest";
import { PortAllocator } from "./port-allocator.js";
import { PortPool } from "./ports.js";

const range = { first: 20000, last: 20004 };

describe("the port allocator", () => {
  it("hands out each port of its range once, then nothing", () => {
    const a = new PortAllocator(range);
    const got = ["a", "b", "c", "d", "e"].map((h) => a.take(h));
    expect(got).toEqual([20000, 20001, 20002, 20003, 20004]);
    expect(a.take("f")).toBeUndefined();
    expect(a.holderOf(20002)).toBe("c");
  });

  it("begins at startAt and wraps around", () => {
    const a = new PortAllocator(range, { startAt: 20003 });
    expect([1, 2, 3, 4, 5].map((i) => a.take(`h${i}`))).toEqual([
      20003, 20004, 20000, 20001, 20002,
    ]);
    // A startAt outside the range is ignored rather than trusted.
    expect(new PortAllocator(range, { startAt: 19000 }).take("x")).toBe(20000);
  });

  it("never gives one port to two holders, however takes, holds and releases interleave", () => {
    const a = new PortAllocator({ first: 30000, last: 30031 });
    const held = new Map<number, string>();
    const faults: string[] = [];
    let seed = 7;
    const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let step = 0; step < 5000 && faults.length === 0; step++) {
      const holder = `i${rnd(40)}`;
      const op = rnd(3);
      if (op === 0) {
        const p = a.take(holder);
        if (p !== undefined && held.has(p)) faults.push(`${step}: ${p} handed out twice`);
        if (p !== undefined) held.set(p, holder);
        if (p === undefined && [...held.keys()].filter((q) => q <= 30031).length < 32)
          faults.push(`${step}: none handed out while some were free`);
      } else if (op === 1) {
        const p = 30000 + rnd(40); // some outside the range, as adopted ports may be
        const ok = a.hold(p, holder);
        if (ok !== (!held.has(p) || held.get(p) === holder))
          faults.push(`${step}: hold(${p}) answered ${ok}`);
        if (ok) held.set(p, holder);
      } else {
        const [p, h] = [...held][rnd(Math.max(held.size, 1))] ?? [];
        if (p === undefined || h === undefined) continue;
        const stranger = rnd(4) === 0;
        a.release(p, stranger ? "someone-else" : h);
        if (!stranger) held.delete(p);
      }
      for (const [p, h] of held)
        if (a.holderOf(p) !== h) faults.push(`${step}: ${p} held by ${a.holderOf(p)}, not ${h}`);
    }
    expect(faults).toEqual([]);
  });

  it("reuses a port only once it is released, and the one released longest ago first", () => {
    const a = new PortAllocator(range);
    for (const h of ["a", "b", "c", "d", "e"]) a.take(h); // 20000…20004
    a.release(20003, "d");
    a.release(20001, "x"); // not its holder: still held by b
    a.release(20000, "a");
    expect(a.take("f")).toBe(20003);
    expect(a.take("g")).toBe(20000);
    expect(a.take("h")).toBeUndefined();
  });

  it("hands out never-used ports before released ones", () => {
    const a = new PortAllocator(range);
    expect(a.take("a")).toBe(20000);
    a.release(20000, "a");
    expect([1, 2, 3, 4, 5].map((i) => a.take(`h${i}`))).toEqual([
      20001, 20002, 20003, 20004, 20000,
    ]);
  });

  it("keeps adopted ports held, also outside its range, and forgets those when released", () => {
    const a = new PortAllocator(range);
    expect(a.hold(20001, "old")).toBe(true);
    expect(a.hold(20001, "other")).toBe(false);
    expect(a.hold(40123, "legacy")).toBe(true);
    expect(a.take("x")).toBe(20000);
    expect(a.take("y")).toBe(20002);
    a.release(40123, "legacy");
    expect(a.holderOf(40123)).toBeUndefined();
    expect(a.freeCount).toBe(2); // 20003, 20004: the stray port does not join the range
  });

  it("restores the release order remembered across a restart: those ports come last", () => {
    const before = new PortAllocator(range);
    for (const h of ["a", "b", "c"]) before.take(h);
    before.release(20002, "c");
    before.release(20000, "a");
    expect(before.recentlyReleased(10)).toEqual([20002, 20000]);
    expect(before.recentlyReleased(1)).toEqual([20000]);

    const after = new PortAllocator(range);
    after.hold(20001, "b"); // adopted
    after.requeue(before.recentlyReleased(10));
    expect([1, 2, 3, 4].map((i) => after.take(`h${i}`))).toEqual([20003, 20004, 20002, 20000]);
  });
});

describe("the port pool", () => {
  it("skips ports other programs hold and puts them at the back of the line", async () => {
    const inUse = new Set([20000, 20001]);
    const probed: number[] = [];
    const pool = new PortPool(new PortAllocator(range), async (p) => {
      probed.push(p);
      return !inUse.has(p);
    });
    expect(await pool.take("a")).toBe(20002);
    expect(await pool.take("b")).toBe(20003);
    expect(probed).toEqual([20000, 20001, 20002, 20003]);
    inUse.clear();
    expect(await pool.take("c")).toBe(20004);
    expect(await pool.take("d")).toBe(20000);
  });

  it("says so when no port of the range is free", async () => {
    const pool = new PortPool(new PortAllocator(range), async (p) => p !== 20001);
    for (const h of ["a", "b", "c", "d"]) await pool.take(h);
    await expect(pool.take("e")).rejects.toThrow(/no free port in 20000-20004 .*1 found in use/);
    // The port found in use is free again for a later try.
    expect(pool.allocator.holderOf(20001)).toBeUndefined();
  });

  it("takes a port as held by another program only when it stays held", async () => {
    let calls = 0;
    const flaky = new PortPool(new PortAllocator(range), async () => ++calls > 1);
    expect(await flaky.heldByOther(20000)).toBe(false); // let go within the recheck
    const held = new PortPool(new PortAllocator(range), async () => false);
    expect(await held.heldByOther(20000)).toBe(true);
  });
});
