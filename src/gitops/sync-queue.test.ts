import { describe, expect, it } from "vitest";
import { SyncQueue, type SyncJob } from "./sync-queue.js";

/** A job that runs until released (or aborted), recording when it ran. */
function gate(label: string, log: string[]): SyncJob<string> & { release(): void } {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return {
    label,
    release: () => release(),
    run: async (signal) => {
      log.push(`start ${label}`);
      await Promise.race([
        done,
        new Promise<void>((r) => signal.addEventListener("abort", () => r())),
      ]);
      log.push(`end ${label}`);
      return label;
    },
  };
}

describe("SyncQueue", () => {
  it("runs one sync at a time; a newer request supersedes the waiting one", async () => {
    const log: string[] = [];
    const q = new SyncQueue<string>(60_000);
    const a = gate("a", log);
    const b = gate("b", log);
    const c = gate("c", log);
    const pa = q.submit(a);
    const pb = q.submit(b);
    const pc = q.submit(c);
    expect(await pb).toEqual({ status: "superseded", by: "c" });
    expect(log).toEqual(["start a"]);
    a.release();
    expect(await pa).toEqual({ status: "done", result: "a" });
    c.release();
    expect(await pc).toEqual({ status: "done", result: "c" });
    expect(log).toEqual(["start a", "end a", "start c", "end c"]);
  });

  it("fails a sync at its deadline and starts the next only once it stopped", async () => {
    const log: string[] = [];
    const q = new SyncQueue<string>(50);
    let stopLate!: () => void;
    const late: SyncJob<string> = {
      label: "slow",
      // Ignores its signal for a while, as a stuck step would.
      run: () =>
        new Promise((r) => {
          log.push("start slow");
          stopLate = () => {
            log.push("end slow");
            r("late");
          };
        }),
    };
    const pSlow = q.submit(late);
    const next = gate("next", log);
    const pNext = q.submit(next);
    const outcome = await pSlow;
    expect(outcome.status).toBe("timeout");
    expect(outcome).toMatchObject({ error: /passed its deadline of 50ms/ });
    expect(log).toEqual(["start slow"]);
    stopLate();
    next.release();
    expect(await pNext).toEqual({ status: "done", result: "next" });
    expect(log).toEqual(["start slow", "end slow", "start next", "end next"]);
  });

  it("reports a failing sync's error and goes on with the next", async () => {
    const q = new SyncQueue<string>(60_000);
    const bad = q.submit({
      label: "bad",
      run: () => Promise.reject(new Error("gantry.yaml:3: kv.x: boom")),
    });
    const good = q.submit({ label: "good", run: () => Promise.resolve("ok") });
    expect(await bad).toEqual({ status: "failed", error: "gantry.yaml:3: kv.x: boom" });
    expect(await good).toEqual({ status: "done", result: "ok" });
  });

  it("drops an offered correction when a sync already waits", async () => {
    const log: string[] = [];
    const q = new SyncQueue<string>(60_000);
    const a = gate("a", log);
    const pa = q.submit(a);
    const b = gate("b", log);
    const pb = q.submit(b);
    expect(await q.offer(gate("drift", log))).toEqual({ status: "superseded", by: "b" });
    a.release();
    await pa;
    b.release();
    expect(await pb).toEqual({ status: "done", result: "b" });
    expect(log).toEqual(["start a", "end a", "start b", "end b"]);
  });

  it("on stop, aborts the running sync and fails the waiting one", async () => {
    const log: string[] = [];
    const q = new SyncQueue<string>(60_000);
    const pa = q.submit(gate("a", log));
    const pb = q.submit(gate("b", log));
    await q.stop();
    expect(await pa).toEqual({ status: "done", result: "a" });
    expect(await pb).toEqual({ status: "failed", error: "the server is stopping" });
    expect(log).toEqual(["start a", "end a"]);
  });
});
