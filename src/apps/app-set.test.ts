import { describe, expect, it } from "vitest";
import type { App, Release } from "../model/app.js";
import { applyAppSet, describeAppSet, moveDraft, movesInstances } from "./app-set.js";

const app: App = {
  name: "hello",
  createdAt: "2026-12-07T00:00:00.000Z",
  createdBy: "test",
  domains: [],
  formation: {},
  healthPath: "/",
  deployTimeoutMs: 30_000,
  drainMs: 5000,
  currentRelease: 1,
};
const IMAGE = `127.0.0.1:5000/hello@sha256:${"cd".repeat(32)}`;
const release = (over: Partial<Release>): Release => ({
  app: "hello",
  version: 1,
  build: "b1",
  processTypes: { web: "node server.js" },
  configVersion: 1,
  config: {},
  description: "Deploy",
  createdAt: "2026-12-07T00:00:00.000Z",
  createdBy: "test",
  status: "active",
  ...over,
});

describe("applyAppSet", () => {
  it("merges container options, null clearing one; process and empty lists leave no field", () => {
    const a = applyAppSet(app, { runtime: "docker", container: { memoryMb: 256, pids: 64 } });
    expect(a).toMatchObject({ runtime: "docker", container: { memoryMb: 256, pids: 64 } });
    const b = applyAppSet(a, { container: { pids: null, readOnly: true } });
    expect(b.container).toEqual({ memoryMb: 256, readOnly: true });
    const c = applyAppSet(b, {
      runtime: "process",
      container: { memoryMb: null, readOnly: null },
      buildArgs: [],
    });
    expect(c).not.toHaveProperty("runtime");
    expect(c).not.toHaveProperty("container");
    expect(c).not.toHaveProperty("buildArgs");
  });

  it("moves instances only for runtime or container changes", () => {
    expect(movesInstances(app, applyAppSet(app, { healthPath: "/up", buildArgs: ["A"] }))).toBe(
      false,
    );
    expect(movesInstances(app, applyAppSet(app, { runtime: "process" }))).toBe(false);
    expect(movesInstances(app, applyAppSet(app, { runtime: "docker" }))).toBe(true);
    expect(movesInstances(app, applyAppSet(app, { container: { readOnly: true } }))).toBe(true);
    const a = applyAppSet(app, { container: { memoryMb: 1, pids: 2 } });
    expect(movesInstances(a, { ...a, container: { pids: 2, memoryMb: 1 } })).toBe(false);
  });
});

describe("moveDraft", () => {
  it("keeps a slug's code and takes the app's new runtime", () => {
    const after = applyAppSet(app, { runtime: "docker" });
    const d = moveDraft(after, release({ artifact: "a".repeat(64) }), "Set runtime=docker");
    expect(d).toMatchObject({ build: "b1", artifact: "a".repeat(64), runtime: "docker" });
    const back = moveDraft(app, release({ artifact: "a".repeat(64), runtime: "docker" }), "x");
    expect(back).not.toHaveProperty("runtime");
  });

  it("keeps an image on docker whatever the app's runtime (the app's runtime is for slugs)", () => {
    const limits = applyAppSet(app, { container: { memoryMb: 64 } });
    expect(moveDraft(limits, release({ image: IMAGE, runtime: "docker" }), "x")).toMatchObject({
      image: IMAGE,
      runtime: "docker",
    });
  });

  it("describes the change", () => {
    expect(describeAppSet({ runtime: "docker", container: { memoryMb: 256, pids: null } })).toBe(
      "Set runtime=docker, memory=256M, pids=default",
    );
  });
});
