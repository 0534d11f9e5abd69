import { describe, expect, it } from "vitest";
import { deliveryId, parseHookEvent } from "./hook-events.js";

const SHA = "a".repeat(40);
const body = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

describe("parseHookEvent", () => {
  it("reads GitHub and Gitea pushes, a deleted branch, and a ping", () => {
    expect(
      parseHookEvent({ "x-github-event": "push" }, body({ ref: "refs/heads/main", after: SHA })),
    ).toEqual({
      kind: "push",
      ref: "refs/heads/main",
      after: SHA,
      deleted: false,
    });
    const zero = "0".repeat(40);
    expect(
      parseHookEvent({ "x-gitea-event": "push" }, body({ ref: "refs/heads/x", after: zero })),
    ).toMatchObject({
      deleted: true,
    });
    expect(parseHookEvent({ "x-github-event": "ping" }, Buffer.from("not json"))).toEqual({
      kind: "ping",
    });
    expect(parseHookEvent({ "x-github-event": "issues" }, Buffer.from("{}"))).toEqual({
      kind: "other",
      name: "issues",
    });
  });

  it("reads a form-encoded GitHub payload", () => {
    const form = Buffer.from(
      new URLSearchParams({
        payload: JSON.stringify({ ref: "refs/heads/main", after: SHA }),
      }).toString(),
    );
    expect(
      parseHookEvent(
        { "x-github-event": "push", "content-type": "application/x-www-form-urlencoded" },
        form,
      ),
    ).toMatchObject({ kind: "push", after: SHA });
  });

  it("reads pull requests; Gitea's synchronized is synchronize", () => {
    const pr = (action: string): unknown => ({
      action,
      number: 7,
      pull_request: { head: { ref: "feature/x", sha: SHA }, base: { ref: "main" } },
    });
    expect(parseHookEvent({ "x-github-event": "pull_request" }, body(pr("opened")))).toEqual({
      kind: "pull_request",
      action: "opened",
      number: 7,
      headBranch: "feature/x",
      headSha: SHA,
      baseBranch: "main",
    });
    expect(
      parseHookEvent({ "x-gitea-event": "pull_request" }, body(pr("synchronized"))),
    ).toMatchObject({
      action: "synchronize",
    });
    expect(parseHookEvent({ "x-gitea-event": "pull_request" }, body(pr("labeled")))).toMatchObject({
      action: "other",
    });
  });

  it("refuses bodies without what it needs, naming it", () => {
    expect(() => parseHookEvent({ "x-github-event": "push" }, Buffer.from("nope"))).toThrow(
      /not JSON/,
    );
    expect(() =>
      parseHookEvent({ "x-github-event": "push" }, body({ ref: "refs/heads/main", after: "xyz" })),
    ).toThrow(/lacks a valid after/);
  });
});

describe("deliveryId", () => {
  it("takes GitHub's or Gitea's header and refuses ids that could not be a key", () => {
    expect(deliveryId({ "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958" })).toBe(
      "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    );
    expect(deliveryId({ "x-gitea-delivery": "abc" })).toBe("abc");
    expect(deliveryId({})).toBeUndefined();
    expect(() => deliveryId({ "x-github-delivery": "../x" })).toThrow(/not valid/);
  });
});
