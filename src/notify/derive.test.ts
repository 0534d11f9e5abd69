import { describe, expect, it } from "vitest";
import type { Build, Deploy, Release } from "../model/app.js";
import { deriveEvents, toPayload } from "./derive.js";

const ctx = {
  now: "2026-01-01T00:00:00.000Z",
  appUrl: (a: string) => `http://${a}.localhost:8080/`,
};
const deploy = (o: Partial<Deploy>): string =>
  JSON.stringify({
    app: "hello",
    release: 3,
    previous: 2,
    status: "running",
    startedAt: "2026-01-01T00:00:01.000Z",
    log: [],
    ...o,
  } satisfies Deploy);
const build = (test?: Build["test"]): string =>
  JSON.stringify({
    id: "20260101-000000-000-abcd",
    app: "hello",
    status: "succeeded",
    commit: "c".repeat(40),
    startedAt: ctx.now,
    createdBy: "admin",
    ...(test === undefined ? {} : { test }),
  } satisfies Build);
const release = (o: Partial<Release> = {}): string =>
  JSON.stringify({
    app: "hello-prod",
    version: 4,
    processTypes: { web: "node server.js" },
    configVersion: 1,
    config: {},
    description: "Promote",
    createdAt: "2026-01-01T00:00:05.000Z",
    createdBy: "admin",
    status: "pending",
    ...o,
  } satisfies Release);

describe("deploy events", () => {
  it("a new running deploy is deploy.started, once", () => {
    const e = deriveEvents("deploys/hello", undefined, deploy({}), ctx);
    expect(e).toEqual([
      {
        event: "deploy.started",
        app: "hello",
        release: 3,
        status: "running",
        at: "2026-01-01T00:00:01.000Z",
      },
    ]);
    // A progress line on the same deploy: nothing new.
    expect(deriveEvents("deploys/hello", deploy({}), deploy({ log: ["x"] }), ctx)).toEqual([]);
  });
  it("the next release's deploy starting over a finished one is deploy.started", () => {
    const prev = deploy({ release: 2, status: "succeeded" });
    expect(deriveEvents("deploys/hello", prev, deploy({}), ctx).map((e) => e.event)).toEqual([
      "deploy.started",
    ]);
  });
  it("succeeded carries the app's URL; failed carries the error", () => {
    const ok = deriveEvents("deploys/hello", deploy({}), deploy({ status: "succeeded" }), ctx);
    expect(ok[0]).toMatchObject({ event: "deploy.succeeded", url: "http://hello.localhost:8080/" });
    const bad = deriveEvents(
      "deploys/hello",
      deploy({}),
      deploy({ status: "failed", error: "web.1 crashed", finishedAt: "2026-01-01T00:00:09.000Z" }),
      ctx,
    );
    expect(bad).toEqual([
      {
        event: "deploy.failed",
        app: "hello",
        release: 3,
        status: "failed",
        error: "web.1 crashed",
        at: "2026-01-01T00:00:09.000Z",
      },
    ]);
    // Written again unchanged (e.g. its log trimmed): not told twice.
    const failed = deploy({ status: "failed", error: "x" });
    expect(deriveEvents("deploys/hello", failed, failed, ctx)).toEqual([]);
  });
  it("a deleted deploy record tells nothing", () => {
    expect(deriveEvents("deploys/hello", deploy({}), undefined, ctx)).toEqual([]);
  });
});

describe("test.failed", () => {
  const t = { command: "npm test", startedAt: ctx.now };
  it("a build whose test run failed or timed out, once", () => {
    const running = build({ ...t, status: "running" });
    const failed = build({ ...t, status: "failed", exitCode: 1 });
    const e = deriveEvents("builds/hello/b", running, failed, ctx);
    expect(e).toEqual([
      {
        event: "test.failed",
        app: "hello",
        status: "failed",
        error: "the tests exited with code 1",
        build: "20260101-000000-000-abcd",
        commit: "c".repeat(40),
        at: ctx.now,
      },
    ]);
    expect(deriveEvents("builds/hello/b", failed, failed, ctx)).toEqual([]);
    const timeout = build({ ...t, status: "timeout" });
    expect(deriveEvents("builds/hello/b", running, timeout, ctx)[0]?.error).toBe(
      "the tests timed out",
    );
  });
  it("passed tests and builds without tests tell nothing", () => {
    expect(
      deriveEvents("builds/hello/b", undefined, build({ ...t, status: "passed" }), ctx),
    ).toEqual([]);
    expect(deriveEvents("builds/hello/b", undefined, build(), ctx)).toEqual([]);
  });
});

describe("promotion", () => {
  const from = { app: "hello-staging", version: 7, pipeline: "hello" };
  it("a new release with promotedFrom, once", () => {
    const r = release({ promotedFrom: from });
    const e = deriveEvents("releases/hello-prod/00000004", undefined, r, ctx);
    expect(e).toEqual([
      {
        event: "promotion",
        app: "hello-prod",
        release: 4,
        promotedFrom: from,
        at: "2026-01-01T00:00:05.000Z",
      },
    ]);
    // Its status moving on is not another promotion.
    expect(
      deriveEvents(
        "releases/hello-prod/00000004",
        r,
        release({ promotedFrom: from, status: "active" }),
        ctx,
      ),
    ).toEqual([]);
    expect(deriveEvents("releases/hello-prod/00000005", undefined, release(), ctx)).toEqual([]);
  });
  it("the payload's text names both ends and the pipeline", () => {
    const [e] = deriveEvents(
      "releases/hello-prod/00000004",
      undefined,
      release({ promotedFrom: from }),
      ctx,
    );
    expect(toPayload(e!, "hello").text).toBe(
      "hello-prod v4: promoted from hello-staging v7 (pipeline hello)",
    );
  });
});

describe("other keys and bad records", () => {
  it("tell nothing", () => {
    expect(deriveEvents("instances/x", undefined, "{}", ctx)).toEqual([]);
    expect(deriveEvents("deploys/hello", undefined, "not json", ctx)).toEqual([]);
  });
});
