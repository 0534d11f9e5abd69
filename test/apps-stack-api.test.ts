/**
 * What the stack's app kind needs from the apps API (issue 11): settings changed after create,
 * the pin a rollback sets (and `releases:unpin` / the next build's release clear), and the
 * modRevisions a plan is pinned to. In-process over a real store; no deploy controller runs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appKey } from "../src/apps/keys.js";
import type { AppService } from "../src/apps/service.js";
import { AppsClient } from "../src/client/apps.js";
import { releaseKey, type App, type Build, type Release } from "../src/model/app.js";
import { text } from "../src/store/index.js";
import { errorOf, startTestApi, type TestApi } from "./helpers/api.js";

let t: TestApi;
let apps: AppsClient;
let svc: AppService;

beforeAll(async () => {
  t = await startTestApi();
  apps = new AppsClient(t.admin);
  svc = t.api.deps.apps as AppService;
});
afterAll(async () => {
  await t?.close();
});

const appRecord = async (name: string): Promise<App> =>
  JSON.parse(text((await t.store.get(appKey(name)))!.value)) as App;

/** A release that serves, as a build and a deploy would have left it. */
async function live(app: string, version: number): Promise<void> {
  const rel: Release = {
    app,
    version,
    build: `b${version}`,
    artifact: String(version).repeat(64).slice(0, 64),
    processTypes: { web: "node server.js" },
    configVersion: 0,
    config: {},
    description: `Deploy ${version}`,
    createdAt: new Date().toISOString(),
    createdBy: "test",
    status: "active",
  };
  await t.store.put(releaseKey(app, version), JSON.stringify(rel));
  const cur = await appRecord(app);
  await t.store.put(appKey(app), JSON.stringify({ ...cur, currentRelease: version }));
}

describe("app settings", () => {
  it("changes the health path, deploy timeout and drain, audited", async () => {
    await apps.create("tune");
    const after = await apps.settings("tune", { healthPath: "/up", drainMs: 0 });
    expect(after).toMatchObject({ healthPath: "/up", drainMs: 0, deployTimeoutMs: 30_000 });
    expect(await appRecord("tune")).toMatchObject({ healthPath: "/up", drainMs: 0 });
    const audit = await t.admin.audit(20);
    expect(audit.some((e) => e.action === "app.settings" && e.target === "tune")).toBe(true);
  });

  it("refuses an empty or bad change, naming the field, and writes nothing", async () => {
    const before = (await t.store.get(appKey("tune")))!.modRevision;
    const empty = await errorOf(apps.settings("tune", {}));
    expect(empty.status).toBe(400);
    const bad = await errorOf(apps.settings("tune", { deployTimeoutMs: 5 }));
    expect(bad.status).toBe(400);
    expect(bad.field).toBe("deployTimeoutMs");
    const unknown = await errorOf(
      t.admin.json("PUT", "/v1/apps/tune/settings", { body: { name: "x" } }),
    );
    expect(unknown.status).toBe(400);
    expect((await t.store.get(appKey("tune")))!.modRevision).toBe(before);
  });
});

describe("revisions", () => {
  it("shows the app record's and the config record's modRevision", async () => {
    await apps.create("revs");
    const info = await apps.info("revs");
    expect(info.modRevision).toBe((await t.store.get(appKey("revs")))!.modRevision);
    expect((await apps.config("revs")).modRevision).toBe(0);
    await apps.changeConfig("revs", { set: { A: "1" } });
    const cfg = await apps.config("revs");
    expect(cfg.modRevision).toBe((await t.store.get("config/revs"))!.modRevision);
    expect(cfg.values).toEqual({ A: "1" });
  });
});

describe("pinning", () => {
  it("pins an app on rollback; unpin clears it and says whether it was pinned", async () => {
    await apps.create("pin");
    await live("pin", 1);
    await live("pin", 2);
    expect((await apps.info("pin")).pinned).toBeUndefined();
    await apps.rollback("pin", 1);
    const info = await apps.info("pin");
    expect(info.pinned).toMatchObject({ release: 1 });
    expect(info.pinned!.by).toMatch(/^admin-/);
    expect(await apps.unpin("pin")).toEqual({ pinned: true });
    expect((await appRecord("pin")).pinned).toBeUndefined();
    expect(await apps.unpin("pin")).toEqual({ pinned: false });
    const audit = await t.admin.audit(50);
    expect(audit.filter((e) => e.action === "app.unpin" && e.target === "pin")).toHaveLength(1);
  });

  it("a released build ends the pin", async () => {
    await apps.rollback("pin", 2);
    expect((await appRecord("pin")).pinned).toMatchObject({ release: 2 });
    const build: Build = {
      id: "20250101-000000-000-abcd",
      app: "pin",
      status: "succeeded",
      commit: "upload",
      startedAt: new Date().toISOString(),
      artifact: "f".repeat(64),
      processTypes: { web: "node server.js" },
      createdBy: "test",
    };
    const stop = new AbortController();
    stop.abort(); // no deploy controller here: do not wait for the deploy
    const out = await svc.releaseFromBuild(
      "pin",
      build,
      { name: "t" } as never,
      () => {},
      stop.signal,
    );
    expect(out.version).toBeGreaterThan(0);
    expect((await appRecord("pin")).pinned).toBeUndefined();
  });

  it("unpin needs write access to the app", async () => {
    const reader = await t.clientWith([{ resource: "app", prefix: "pin", access: "read" }]);
    const err = await errorOf(new AppsClient(reader).unpin("pin"));
    expect(err.status).toBe(403);
  });
});
