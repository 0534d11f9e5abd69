import { describe, expect, it } from "vitest";
import type { EtcdExit, SupervisedEtcd } from "./etcd-process.js";
import { ServerRemovedError } from "./errors.js";
import { backoffMs, superviseEtcd } from "./supervise.js";

/** A fake etcd process whose exit the test decides. */
function fake(pid: number): SupervisedEtcd & { exit(e: Partial<EtcdExit>): void } {
  let resolve!: (e: EtcdExit) => void;
  const exited = new Promise<EtcdExit>((r) => (resolve = r));
  let done = false;
  const exit = (e: Partial<EtcdExit>): void => {
    done = true;
    resolve({ code: 1, signal: null, removed: false, ...e });
  };
  return {
    clientUrl: "http://c",
    peerUrl: "http://p",
    get pid() {
      return done ? undefined : pid;
    },
    exited,
    stop: async () => exit({ code: 0 }),
    exit,
  };
}

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("superviseEtcd", () => {
  it("backs off 1 s doubling to 30 s", () => {
    expect([1, 2, 3, 6, 10].map((n) => backoffMs(n))).toEqual([1000, 2000, 4000, 30000, 30000]);
  });

  it("starts etcd again after an unexpected exit, and stops it for good", async () => {
    const procs = [fake(1), fake(2)];
    const lines: string[] = [];
    let n = 0;
    const s = superviseEtcd(procs[0]!, {
      relaunch: async () => procs[++n]!,
      log: (l) => lines.push(l),
      firstBackoffMs: 1,
    });
    expect(s.pid).toBe(1);
    procs[0]!.exit({ signal: "SIGKILL" });
    await tick(30);
    expect(s.pid).toBe(2);
    expect(lines.join("\n")).toMatch(/exited unexpectedly \(code 1, signal SIGKILL\)/);
    await s.stop();
    expect(await s.exited).toMatchObject({ removed: false });
    expect(n).toBe(1);
  });

  it("does not start a removed member again: exited says removed", async () => {
    const first = fake(1);
    let relaunched = 0;
    const s = superviseEtcd(first, {
      relaunch: async () => {
        relaunched++;
        throw new ServerRemovedError();
      },
      log: () => undefined,
      firstBackoffMs: 1,
    });
    first.exit({ removed: true });
    expect(await s.exited).toMatchObject({ removed: true });
    expect(relaunched).toBe(0);
    // removed found on a restart after a crash
    const other = fake(3);
    const s2 = superviseEtcd(other, {
      relaunch: async () => {
        throw new ServerRemovedError();
      },
      log: () => undefined,
      firstBackoffMs: 1,
    });
    other.exit({});
    expect(await s2.exited).toMatchObject({ removed: true });
  });

  it("a stop during the backoff starts nothing", async () => {
    const first = fake(1);
    let relaunched = 0;
    const s = superviseEtcd(first, {
      relaunch: async () => {
        relaunched++;
        return fake(2);
      },
      log: () => undefined,
      firstBackoffMs: 10_000,
    });
    first.exit({});
    await tick();
    await s.stop();
    expect(relaunched).toBe(0);
    expect(s.pid).toBeUndefined();
  });
});
