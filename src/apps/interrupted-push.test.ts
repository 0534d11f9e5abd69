import { describe, expect, it } from "vitest";
import type { App, PushOrigin, Release, ReleaseStatus } from "../model/app.js";
import { planPushRecovery, untaken } from "./interrupted-push.js";

const REPO = "0123456789abcdef";
const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);
const MAIN = "refs/heads/main";

const app = (currentRelease: number): App => ({
  name: "hello",
  createdAt: "2026-01-01T00:00:00.000Z",
  createdBy: "admin",
  domains: [],
  formation: {},
  healthPath: "/",
  deployTimeoutMs: 30_000,
  drainMs: 5000,
  currentRelease,
});

const pushOf = (commit: string, repo = REPO): PushOrigin => ({ commit, ref: MAIN, repo });

function rel(
  version: number,
  status: ReleaseStatus,
  push?: PushOrigin,
  description = "",
  configVersion = 0,
): Release {
  return {
    app: "hello",
    version,
    processTypes: { web: "node server.js" },
    configVersion,
    config: {},
    description: description || `v${version}`,
    createdAt: "2026-01-01T00:00:00.000Z",
    createdBy: "admin",
    status,
    ...(push === undefined ? {} : { push }),
  };
}

/** The plan for an app serving `current`, with the config of its newest release. */
const plan = (current: number, releases: Release[], main: string) =>
  planPushRecovery({
    app: app(current),
    releases,
    configVersion: Math.max(0, ...releases.map((r) => r.configVersion)),
    repo: { id: REPO, refs: { [MAIN]: main } },
  });

describe("planPushRecovery", () => {
  it("abandons a push release still deploying when main is not its commit; what serves stays", () => {
    const p = plan(1, [rel(1, "active", pushOf(A)), rel(2, "deploying", pushOf(B))], A);
    expect(p.abandon).toEqual([
      {
        version: 2,
        reason: `the push of bbbbbbb to main did not complete (main is at aaaaaaa)`,
      },
    ]);
    expect(p.restore).toBeUndefined();
  });

  it("keeps a push release when main moved to its commit (the restart fell after git took it)", () => {
    expect(plan(2, [rel(1, "superseded", pushOf(A)), rel(2, "active", pushOf(B))], B)).toEqual({
      abandon: [],
    });
  });

  it("abandons a push release that went live without its push, and restores the one before", () => {
    const p = plan(
      3,
      [rel(1, "superseded", pushOf(A)), rel(2, "superseded"), rel(3, "active", pushOf(C))],
      A,
    );
    expect(p.abandon.map((a) => a.version)).toEqual([3]);
    expect(p.restore).toEqual({
      from: 2,
      description: "restored v2: the push of ccccccc did not complete",
    });
  });

  it("abandons a config change made on the code of a push that did not complete", () => {
    const p = plan(
      1,
      [
        rel(1, "active", pushOf(A)),
        rel(2, "deploying", pushOf(B)),
        rel(3, "pending", pushOf(B), "Set GREETING"),
      ],
      A,
    );
    expect(p.abandon.map((a) => a.version)).toEqual([2, 3]);
  });

  it("replays a config change made on the code of a push that did not complete on what serves", () => {
    const p = plan(
      1,
      [
        rel(1, "active", pushOf(A)),
        rel(2, "deploying", pushOf(B)),
        rel(3, "pending", pushOf(B), "Set GREETING", 1),
      ],
      A,
    );
    expect(p.abandon.map((a) => a.version)).toEqual([2, 3]);
    expect(p.restore).toEqual({
      from: 1,
      description: "Set GREETING (on v1: the push of bbbbbbb did not complete)",
    });
  });

  it("restores nothing when a newer release is on its way to replace the abandoned one", () => {
    const p = plan(
      2,
      [rel(1, "superseded", pushOf(A)), rel(2, "active", pushOf(B)), rel(3, "pending")],
      A,
    );
    expect(p.abandon.map((a) => a.version)).toEqual([2]);
    expect(p.restore).toBeUndefined();
  });

  it("skips earlier releases of pushes that did not complete when choosing what to restore", () => {
    const p = plan(
      4,
      [
        rel(1, "superseded", pushOf(A)),
        rel(2, "superseded", pushOf(B)),
        rel(3, "superseded", pushOf(B), "Set X"),
        rel(4, "active", pushOf(C)),
      ],
      A,
    );
    expect(p.restore?.from).toBe(1);
  });

  it("stops the app when its first push went live but main does not exist", () => {
    const p = plan(1, [rel(1, "active", pushOf(A))], "");
    expect(p.abandon).toEqual([
      { version: 1, reason: "the push of aaaaaaa to main did not complete (main does not exist)" },
    ]);
    expect(p.restore).toEqual({
      description:
        "stopped v1: the push of aaaaaaa did not complete, and no earlier release matches the repository",
    });
  });

  it("leaves explicit releases alone: a rollback to an old push's code serves on", () => {
    // v3 rolls back to v1 (commit A) while main is at B: the user asked for it.
    const p = plan(
      3,
      [rel(1, "superseded", pushOf(A)), rel(2, "superseded", pushOf(B)), rel(3, "active")],
      B,
    );
    expect(p).toEqual({ abandon: [] });
  });

  it("leaves pushes into another server's repository, and ended releases, alone", () => {
    const other = pushOf(C, "fedcba9876543210");
    expect(plan(1, [rel(1, "active", pushOf(A)), rel(2, "deploying", other)], A)).toEqual({
      abandon: [],
    });
    expect(
      plan(
        1,
        [rel(1, "active", pushOf(A)), rel(2, "failed", pushOf(B)), rel(3, "abandoned", pushOf(C))],
        A,
      ),
    ).toEqual({ abandon: [] });
  });

  it("does not judge a branch it could not read", () => {
    expect(untaken(pushOf(B), { id: REPO, refs: {} })).toBe(false);
    expect(untaken(pushOf(B), { id: REPO, refs: { [MAIN]: A } })).toBe(true);
    expect(untaken(undefined, { id: REPO, refs: { [MAIN]: A } })).toBe(false);
  });
});
