/**
 * The apps API in-process over a real store and real HTTP: apps, config (encrypted at rest),
 * releases and rollback, formation and domains (ps, run, logs and destroy are in
 * test/apps-api-runs.test.ts). No deploy controller runs here (test/deploy-controller.test.ts
 * has it): releases stay pending, which is what these tests look at.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { appKey, configKey } from "../src/apps/keys.js";
import { AppsClient } from "../src/client/apps.js";
import { releaseKey, type App, type Release } from "../src/model/app.js";
import { errorOf } from "./helpers/api.js";
import {
  ART_A,
  ART_B,
  apps,
  liveRelease,
  raw,
  record,
  svc,
  t,
  useAppsApi,
} from "./helpers/apps-api.js";

useAppsApi();

describe("apps", () => {
  it("creates an app with its git URL, router URL and repository", async () => {
    const app = await apps.create("hello");
    expect(app).toMatchObject({
      name: "hello",
      currentRelease: 0,
      formation: {},
      healthPath: "/",
      deployTimeoutMs: 30_000,
      drainMs: 5000,
      gitUrl: `${t.url}/git/hello.git`,
      url: "http://hello.localhost:8080/",
    });
    expect(existsSync(join(t.dataDir, "repos", "hello.git", "HEAD"))).toBe(true);
    const again = await errorOf(apps.create("hello"));
    expect([again.status, again.code]).toEqual([409, "conflict"]);
  });

  it("refuses names that are not DNS labels, naming the field", async () => {
    for (const name of ["Hello", "a_b", "-x", "x".repeat(31)]) {
      const err = await errorOf(apps.create(name));
      expect([err.status, err.field]).toEqual([400, "name"]);
    }
    const err = await errorOf(apps.info("Not_An_App"));
    expect([err.status, err.field]).toEqual([400, "app"]);
  });

  it("answers 404 for an unknown app everywhere", async () => {
    for (const call of [
      () => apps.info("nope"),
      () => apps.config("nope"),
      () => apps.changeConfig("nope", { set: { A: "1" } }),
      () => apps.releases("nope"),
      () => apps.ps("nope"),
      () => apps.logs("nope"),
      () => apps.scale("nope", { web: 1 }),
      () => apps.rollback("nope", 1),
      () => apps.run("nope", ["true"]),
      () => apps.destroy("nope", "nope"),
    ]) {
      const err = await errorOf(call());
      expect([err.status, err.code, err.message]).toEqual([
        404,
        "not_found",
        'app "nope" not found',
      ]);
    }
  });

  it("lists apps, and a blocking list wakes when one is created", async () => {
    const first = await apps.list();
    expect(first.value.map((a) => a.name)).toContain("hello");
    const waiting = apps.list({ index: first.index, wait: "10s" });
    await new Promise((r) => setTimeout(r, 50));
    await apps.create("listed");
    const woke = await waiting;
    expect(woke.index).toBeGreaterThan(first.index);
    expect(woke.value.map((a) => a.name)).toContain("listed");
  });

  it("keeps apps to tokens allowed on them", async () => {
    const reader = new AppsClient(
      await t.clientWith([{ resource: "app", prefix: "hello", access: "read" }]),
    );
    expect((await reader.list()).value.map((a) => a.name)).toEqual(["hello"]);
    expect((await reader.info("hello")).name).toBe("hello");
    expect((await errorOf(reader.info("listed"))).status).toBe(403);
    expect((await errorOf(reader.create("hello2"))).status).toBe(403);
    // Config values are secrets: reading them takes write.
    expect((await errorOf(reader.config("hello"))).status).toBe(403);
    expect((await errorOf(reader.changeConfig("hello", { set: { A: "1" } }))).status).toBe(403);
  });
});

describe("config and releases", () => {
  it("makes release v+1 on config:set and keeps the values encrypted at rest", async () => {
    await apps.create("cfg");
    const a = await apps.changeConfig("cfg", { set: { GREETING: "hi-plaintext-1", EMPTY: "" } });
    expect(a).toEqual({ changed: true, version: 1 });
    const b = await apps.changeConfig("cfg", { set: { DB: "postgres://secret-2" } });
    expect(b).toEqual({ changed: true, version: 2 });
    // The raw store records hold no plaintext: not the config, not the releases.
    for (const key of [configKey("cfg"), releaseKey("cfg", 1), releaseKey("cfg", 2)]) {
      const stored = (await raw(key))!;
      expect(stored).not.toContain("hi-plaintext-1");
      expect(stored).not.toContain("postgres://secret-2");
    }
    expect((await record<{ version: number }>(configKey("cfg"))).version).toBe(2);
    expect(await apps.config("cfg")).toEqual({
      version: 2,
      values: { GREETING: "hi-plaintext-1", EMPTY: "", DB: "postgres://secret-2" },
      modRevision: (await t.store.get(configKey("cfg")))!.modRevision,
    });
    const rels = await apps.releases("cfg");
    expect(rels.map((r) => [r.version, r.status, r.description, r.configNames])).toEqual([
      [1, "pending", "Set GREETING, EMPTY", ["EMPTY", "GREETING"]],
      [2, "pending", "Set DB", ["DB", "EMPTY", "GREETING"]],
    ]);
    expect(JSON.stringify(rels)).not.toContain("hi-plaintext-1");
  });

  it("unsets vars (a release), and makes none when nothing changes", async () => {
    const a = await apps.changeConfig("cfg", { unset: ["EMPTY"] });
    expect(a).toEqual({ changed: true, version: 3 });
    expect((await apps.config("cfg")).values).not.toHaveProperty("EMPTY");
    expect(await apps.changeConfig("cfg", { set: { DB: "postgres://secret-2" } })).toEqual({
      changed: false,
      version: 0,
    });
    expect(await apps.changeConfig("cfg", { unset: ["NEVER_SET"] })).toMatchObject({
      changed: false,
    });
    expect((await apps.releases("cfg")).length).toBe(3);
  });

  it("refuses bad config changes without writing anything", async () => {
    const before = (await t.store.status()).revision;
    const bad: { set?: Record<string, string>; unset?: string[] }[] = [
      {},
      { set: { "1BAD": "x" } },
      { set: { A: "x" }, unset: ["A"] },
      { set: { A: "x".repeat(40_000) } },
    ];
    for (const change of bad)
      expect((await errorOf(apps.changeConfig("cfg", change))).status).toBe(400);
    expect((await t.store.status()).revision).toBe(before);
  });

  it("builds a config release on the current code; rollback copies an old release's code and config", async () => {
    await apps.create("roll");
    await liveRelease("roll", 1, ART_A, { COLOR: "blue" });
    await t.store.put(
      configKey("roll"),
      JSON.stringify({ version: 1, values: svc.secrets.seal("roll", { COLOR: "blue" }) }),
    );
    // A new build (v2) with other code, then a config change on top of it (v3).
    await liveRelease("roll", 2, ART_B, { COLOR: "blue" });
    expect(await apps.changeConfig("roll", { set: { COLOR: "green" } })).toEqual({
      changed: true,
      version: 3,
    });
    const v3 = await record<Release>(releaseKey("roll", 3));
    expect([v3.artifact, v3.build, v3.processTypes]).toEqual([
      ART_B,
      "b2",
      { web: "node server.js", worker: "node worker.js" },
    ]);
    expect(svc.secrets.open("roll", v3.config)).toEqual({ COLOR: "green" });

    expect(await apps.rollback("roll", 1)).toEqual({ changed: true, version: 4 });
    const v4 = await record<Release>(releaseKey("roll", 4));
    expect(v4).toMatchObject({
      artifact: ART_A,
      build: "b1",
      status: "pending",
      description: "Rollback to v1",
    });
    expect(svc.secrets.open("roll", v4.config)).toEqual({ COLOR: "blue" });
    // The app's config follows, so the next config:set builds on what is rolled back to.
    expect((await apps.config("roll")).values).toEqual({ COLOR: "blue" });
    const missing = await errorOf(apps.rollback("roll", 99));
    expect([missing.status, missing.message]).toEqual([404, "release v99 of roll not found"]);
  });

  it("answers the release a deploy follow is about, as JSON without ?follow", async () => {
    const d = await apps.deploy("cfg");
    expect(d).toMatchObject({ app: "cfg", release: 1, status: "pending" });
    expect((await errorOf(apps.deploy("listed"))).status).toBe(404);
  });
});

describe("formation and domains", () => {
  it("scales only process types the release has", async () => {
    expect((await errorOf(apps.scale("listed", { web: 2 }))).status).toBe(409);
    const bad = await errorOf(apps.scale("roll", { clock: 1 }));
    expect([bad.status, bad.field]).toEqual([400, "clock"]);
    const info = await apps.scale("roll", { web: 3, worker: 1 });
    expect(info.formation).toEqual({ web: 3, worker: 1 });
    expect((await record<App>(appKey("roll"))).formation).toEqual({ web: 3, worker: 1 });
  });

  it("adds and removes custom domains, one app per domain", async () => {
    expect((await apps.addDomain("hello", "www.example.com")).domains).toEqual(["www.example.com"]);
    expect((await apps.addDomain("hello", "www.example.com")).domains).toEqual(["www.example.com"]);
    expect((await errorOf(apps.addDomain("cfg", "www.example.com"))).status).toBe(409);
    expect((await errorOf(apps.addDomain("cfg", "hello.localhost"))).status).toBe(409);
    expect((await errorOf(apps.addDomain("cfg", "Not A Domain"))).field).toBe("domain");
    expect((await apps.removeDomain("hello", "www.example.com")).domains).toEqual([]);
    expect((await errorOf(apps.removeDomain("hello", "www.example.com"))).status).toBe(404);
  });
});
