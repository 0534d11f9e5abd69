import { describe, expect, it } from "vitest";
import { diffApp, needsBuild } from "./apps-diff.js";
import { liveApp, type LiveApp } from "./apps-read.js";
import { AppSpecSchema, type AppSpec } from "./apps-schema.js";

const A = "a".repeat(64);
const B = "b".repeat(64);

const spec = (s: unknown): AppSpec => AppSpecSchema.parse(s);

/** An app as the stack left it: built from source A, config LOG=info, a secret set by hand. */
function live(over: Partial<LiveApp> = {}): LiveApp {
  return {
    healthPath: "/",
    deployTimeoutMs: 30_000,
    drainMs: 5000,
    domains: ["www.example.com"],
    formation: { web: 2, worker: 0 },
    processTypes: ["web", "worker"],
    config: { LOG: "info", DB_PASSWORD: "hunter2" },
    code: { release: 3, build: "b3", commit: "upload", source: A },
    lastStackSource: A,
    ...over,
  };
}

const base = {
  formation: { web: 2 },
  config: { LOG: "info" },
  secrets: ["DB_PASSWORD"],
  domains: ["www.example.com"],
  source: "./web",
};

/** Pinned to v1 by a rollback; its code is an upload (v5); the stack last built folder A. */
const pinnedApp = (): LiveApp =>
  live({
    pinned: { release: 1, by: "admin", at: "2026-01-01T00:00:00Z" },
    code: { release: 5, build: "b1", commit: "upload", source: B },
    config: { LOG: "warn", DB_PASSWORD: "x" },
    lastStackSource: A,
  });

describe("the app kind's diff", () => {
  it("finds nothing to do when live matches the spec", () => {
    expect(diffApp("web", spec(base), live(), A)).toEqual([]);
  });

  it("lists what a create sets, secrets as sensitive info fields", () => {
    const fields = diffApp("web", spec({ ...base, healthPath: "/up" }), undefined, A);
    expect(fields).toEqual([
      { path: "healthPath", new: "/up" },
      { path: "domains", new: ["www.example.com"] },
      { path: "config.LOG", new: "info" },
      {
        path: "secrets.DB_PASSWORD",
        new: "(missing: gantry config:set web DB_PASSWORD=…)",
        sensitive: true,
        info: true,
      },
      { path: "source", new: A.slice(0, 12) },
      { path: "formation.web", new: 2 },
    ]);
  });

  it("shows hand edits (config:set, ps:scale) as changes back to the spec", () => {
    const fields = diffApp(
      "web",
      spec(base),
      live({ config: { LOG: "debug", DB_PASSWORD: "x" }, formation: { web: 3, worker: 1 } }),
      A,
    );
    expect(fields).toEqual([
      { path: "config.LOG", old: "debug", new: "info" },
      { path: "formation.web", old: 3, new: 2 },
      { path: "formation.worker", old: 1, new: 0 },
    ]);
  });

  it("removes a var the spec does not declare without ever showing its value", () => {
    const fields = diffApp(
      "web",
      spec(base),
      live({ config: { LOG: "info", DB_PASSWORD: "x", STRAY: "s3cret" } }),
      A,
    );
    expect(fields).toEqual([{ path: "config.STRAY", old: "(set)", sensitive: true }]);
    expect(JSON.stringify(fields)).not.toContain("s3cret");
  });

  it("never puts a secret's value in a field, set or missing", () => {
    const set = diffApp("web", spec(base), live(), A);
    expect(JSON.stringify(set)).not.toContain("hunter2");
    const missing = diffApp("web", spec(base), live({ config: { LOG: "info" } }), A);
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatchObject({ path: "secrets.DB_PASSWORD", sensitive: true, info: true });
  });

  it("rebuilds when the source folder's hash differs from what serves", () => {
    // The folder changed since the stack last deployed it: intended, not drift.
    expect(diffApp("web", spec(base), live(), B)).toEqual([
      { path: "source", old: A.slice(0, 12), new: B.slice(0, 12), fromFiles: true },
    ]);
    expect(needsBuild(live(), B)).toBe(true);
    expect(needsBuild(live(), A)).toBe(false);
  });

  it("rebuilds an app whose code came from a git push (code drift, not from the files)", () => {
    const pushed = live({ code: { release: 4, build: "b4", commit: "c".repeat(40) } });
    expect(diffApp("web", spec(base), pushed, A)).toEqual([
      { path: "source", old: `git ${"c".repeat(12)}`, new: A.slice(0, 12) },
    ]);
  });

  it("leaves a pinned app's code and config alone while the folder is what the stack last built", () => {
    const pinned = pinnedApp();
    const fields = diffApp("web", spec(base), pinned, A);
    expect(fields.every((f) => f.info === true)).toBe(true);
    expect(fields.map((f) => f.path)).toEqual(["release", "config.LOG", "source"]);
    expect(fields[0]!.old).toBe("pinned to v1 by a rollback");
    expect(needsBuild(pinned, A)).toBe(false);
  });

  it("builds a pinned app once the folder changes, and applies its config with it", () => {
    const pinned = pinnedApp();
    const C = "c".repeat(64);
    const fields = diffApp("web", spec(base), pinned, C);
    expect(fields).toEqual([
      { path: "config.LOG", old: "warn", new: "info" },
      { path: "source", old: B.slice(0, 12), new: C.slice(0, 12), fromFiles: true },
    ]);
  });

  it("still applies a pinned app's settings, domains and formation", () => {
    const pinned = live({
      pinned: { release: 1, by: "a", at: "t" },
      formation: { web: 1, worker: 0 },
    });
    expect(diffApp("web", spec({ ...base, drain: "1s" }), pinned, A)).toEqual([
      { path: "drain", old: "5s", new: "1s" },
      expect.objectContaining({ path: "release", info: true }),
      { path: "formation.web", old: 1, new: 2 },
    ]);
    // A pin is shown even when nothing is held back: later config changes would be.
    const quiet = diffApp("web", spec(base), live({ pinned: { release: 1, by: "a", at: "t" } }), A);
    expect(quiet).toEqual([expect.objectContaining({ path: "release", info: true })]);
  });

  it("compares durations as durations, shown as the spec writes them", () => {
    expect(diffApp("web", spec({ ...base, deployTimeout: "30000ms" }), live(), A)).toEqual([]);
    expect(diffApp("web", spec({ ...base, deployTimeout: "1m30s" }), live(), A)).toEqual([
      { path: "deployTimeout", old: "30s", new: "1m30s" },
    ]);
  });

  it("puts what a spec leaves out back to its default", () => {
    const fields = diffApp(
      "web",
      spec({ secrets: ["DB_PASSWORD"], config: { LOG: "info" }, source: "./web" }),
      live({ healthPath: "/up", domains: ["a.example.com"], formation: { web: 3, worker: 0 } }),
      A,
    );
    expect(fields).toEqual([
      { path: "healthPath", old: "/up", new: "/" },
      { path: "domains", old: ["a.example.com"], new: [] },
      { path: "formation.web", old: 3, new: 1 },
    ]);
  });

  it("lets the formation of an app without code wait for its first push", () => {
    const empty = live({
      processTypes: [],
      formation: {},
      code: { release: 0 },
      config: {},
      domains: [],
    });
    expect(diffApp("web", spec({ formation: { web: 2 } }), empty, undefined)).toEqual([
      { path: "formation.web", new: 2, info: true },
    ]);
  });

  it("keeps config values out of a live reading written as JSON", () => {
    const text = JSON.stringify(liveApp(live()));
    expect(text).not.toContain("hunter2");
    expect(JSON.parse(text).configNames).toEqual(["DB_PASSWORD", "LOG"]);
  });

  it("refuses unknown fields and bad values in the spec", () => {
    expect(AppSpecSchema.safeParse({ formaton: { web: 1 } }).success).toBe(false);
    expect(AppSpecSchema.safeParse({ deployTimeout: "10" }).success).toBe(false);
    expect(AppSpecSchema.safeParse({ secrets: ["A", "A"] }).success).toBe(false);
    expect(AppSpecSchema.parse({ config: { PORT: 8080, ON: true } }).config).toEqual({
      PORT: "8080",
      ON: "true",
    });
  });
});
