import { describe, expect, it } from "vitest";
import { diffApp } from "./apps-diff.js";
import type { LiveApp } from "./apps-read.js";
import { AppSpecSchema } from "./apps-schema.js";

const A = "a".repeat(64);

function live(over: Partial<LiveApp> = {}): LiveApp {
  return {
    healthPath: "/",
    deployTimeoutMs: 30_000,
    drainMs: 5000,
    domains: [],
    formation: { web: 1 },
    processTypes: ["web"],
    config: {},
    code: { release: 3, build: "b3", commit: "upload", source: A },
    lastStackSource: A,
    ...over,
  };
}

const base = { formation: { web: 1 }, source: "./web" };
const placement = (s: unknown, l: LiveApp | undefined) =>
  diffApp("hello", AppSpecSchema.parse({ ...base, ...(s as object) }), l, A).filter((f) =>
    ["cpu", "constraints", "spread"].includes(f.path),
  );

describe("the app kind's placement fields (issue 16)", () => {
  it("sets what the spec gives, leaves alone what it does not", () => {
    expect(placement({ cpu: 0.5, constraints: ["role=web"], spread: "zone" }, live())).toEqual([
      { path: "cpu", old: "(none)", new: 0.5 },
      { path: "constraints", old: "(none)", new: ["role=web"] },
      { path: "spread", old: "(none)", new: "zone" },
    ]);
    expect(placement({}, live({ cpu: 2, spread: "zone" }))).toEqual([]);
    expect(
      placement({ cpu: 2, constraints: ["role=web"] }, live({ cpu: 2, constraints: ["role=web"] })),
    ).toEqual([]);
    expect(placement({ cpu: 1 }, live({ cpu: 2 }))).toEqual([{ path: "cpu", old: 2, new: 1 }]);
    expect(placement({ cpu: 1 }, undefined)).toEqual([{ path: "cpu", new: 1 }]);
  });

  it("refuses bad values in gantry.yaml", () => {
    expect(AppSpecSchema.safeParse({ cpu: -1 }).success).toBe(false);
    expect(AppSpecSchema.safeParse({ constraints: ["role"] }).success).toBe(false);
    expect(AppSpecSchema.safeParse({ spread: "a b" }).success).toBe(false);
  });
});
