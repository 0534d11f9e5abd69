/**
 * Leadership of the controllers (src/controllers/leader.ts) on both store backends: two
 * contenders, each with its own store connection where the backend allows (etcd) — exactly one
 * leads at any time, a leader that stops hands over at once, and one whose lease is lost steps
 * down before the other takes over.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEADER_KEY, startLeadership, type Leadership } from "../src/controllers/leader.js";
import { openStore, text, type Store } from "../src/store/index.js";
import { startEtcd, type EtcdServer } from "./helpers/etcd.js";
import { eventually } from "./helpers/paas.js";

interface Backend {
  name: string;
  /** Two stores on the same data: one per contender. */
  open(): Promise<[Store, Store]>;
  cleanup(): Promise<void>;
}

let etcd: EtcdServer | undefined;
const dir = mkdtempSync(join(tmpdir(), "gantry-leader-"));
afterAll(async () => {
  await etcd?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const backends: Backend[] = [
  {
    name: "embedded (sqlite)",
    async open() {
      // One process owns the embedded store: both contenders share it, as two components would.
      const s = await openStore(join(dir, "store"));
      return [s, s];
    },
    async cleanup() {},
  },
  {
    name: "etcd",
    async open() {
      etcd ??= await startEtcd();
      const at = `etcd://${etcd.endpoints.map((u) => u.replace(/^http:\/\//, "")).join(",")}`;
      return [await openStore(at), await openStore(at)];
    },
    async cleanup() {},
  },
];

/** A contender whose "controllers" record when they run, to check no two ever overlap. */
class Contender {
  readonly spans: { start: number; end?: number }[] = [];
  readonly leadership: Leadership;

  constructor(
    readonly name: string,
    readonly store: Store,
  ) {
    this.leadership = startLeadership({
      store,
      id: name,
      ttlSeconds: 2,
      log: process.env["LEADER_LOG"] ? (l) => console.log(name, l) : () => undefined,
      lead: () => {
        const span: { start: number; end?: number } = { start: performance.now() };
        this.spans.push(span);
        return {
          stop: async () => {
            span.end = performance.now();
          },
        };
      },
    });
  }

  get running(): boolean {
    const last = this.spans.at(-1);
    return last !== undefined && last.end === undefined;
  }
}

function noOverlap(a: Contender, b: Contender): void {
  for (const x of a.spans)
    for (const y of b.spans) {
      const xEnd = x.end ?? Infinity;
      const yEnd = y.end ?? Infinity;
      expect(x.start < yEnd && y.start < xEnd, `${a.name} and ${b.name} both led`).toBe(false);
    }
}

describe.each(backends)("controllers' leader on $name", (backend) => {
  let stores: [Store, Store];
  beforeAll(async () => {
    stores = await backend.open();
  }, 60_000);
  afterAll(async () => {
    for (const s of new Set(stores)) await s.close();
    await backend.cleanup();
  });

  it("one leads at a time; a leader that stops hands over at once", async () => {
    const a = new Contender("server-a", stores[0]);
    const b = new Contender("server-b", stores[1]);
    try {
      const first = await eventually("a leader", () => (a.running ? a : b.running ? b : undefined));
      const other = first === a ? b : a;
      // Well past a renewal or two, the other still waits.
      await new Promise((r) => setTimeout(r, 2500));
      expect(first.running && !other.running).toBe(true);
      expect(first.leadership.isLeader()).toBe(true);
      expect(other.leadership.isLeader()).toBe(false);
      expect(text((await stores[0].get(LEADER_KEY))!.value)).toBe(first.name);

      const stoppedAt = performance.now();
      await first.leadership.stop();
      expect(first.running).toBe(false);
      await eventually("the other to lead", () => other.running, 5000);
      // Revoked, not expired: well under the 2 s TTL.
      expect(other.spans.at(-1)!.start - stoppedAt).toBeLessThan(1500);
      noOverlap(a, b);
    } finally {
      await a.leadership.stop();
      await b.leadership.stop();
    }
  });

  it("a leader that loses its lease steps down, and then the other leads", async () => {
    const a = new Contender("server-a", stores[0]);
    const b = new Contender("server-b", stores[1]);
    try {
      const first = await eventually("a leader", () => (a.running ? a : b.running ? b : undefined));
      // The lease goes behind its back (as when the store expired it while the leader was
      // frozen): it hears the key go and steps down at once, not at its next renewal.
      const lease = (await stores[0].get(LEADER_KEY))!.lease;
      const revokedAt = performance.now();
      await stores[0].revokeLease(lease);
      await eventually("the first leader to step down", () => !first.running, 5000);
      expect(first.spans[0]!.end! - revokedAt).toBeLessThan(500);
      await eventually("someone to lead again", () => a.running || b.running, 8000);
      await new Promise((r) => setTimeout(r, 2500));
      expect([a.running, b.running].filter(Boolean)).toHaveLength(1);
      expect(a.spans.length + b.spans.length).toBe(2);
    } finally {
      await a.leadership.stop();
      await b.leadership.stop();
    }
  });

  it("a leader whose lease keep-alive hangs still steps down as soon as its key goes", async () => {
    // A keep-alive stuck on a broken stream (it answers only at the store's request timeout)
    // must not hold the leadership once the watch on the key has heard it go.
    let stuck = false;
    const store = new Proxy(stores[0], {
      get(target, prop, receiver) {
        if (prop === "keepAlive" && stuck) return () => new Promise(() => undefined);
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const a = new Contender("server-a", store);
    try {
      await eventually("a to lead", () => a.running);
      stuck = true;
      await new Promise((r) => setTimeout(r, 1000)); // a keep-alive is now pending forever
      const lease = (await stores[0].get(LEADER_KEY))!.lease;
      const revokedAt = performance.now();
      await stores[0].revokeLease(lease);
      // Alone, it leads again at once: the first span's end is what shows the step-down.
      await eventually("a to step down", () => a.spans[0]!.end !== undefined, 3000);
      expect(a.spans[0]!.end! - revokedAt).toBeLessThan(500);
    } finally {
      await a.leadership.stop();
    }
  });
});
