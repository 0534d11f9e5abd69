/**
 * The apps API in-process over a real store and real HTTP: apps, config (encrypted at rest),
 * releases and rollback, formation, domains, ps, run, logs and destroy. No deploy controller
 * runs here (test/deploy-controller.test.ts has it): releases stay pending, which is what
 * these tests look at.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appKey, assignmentKey, configKey, instanceKey } from "../src/apps/keys.js";
import type { AppService } from "../src/apps/service.js";
import { AppsClient } from "../src/client/apps.js";
import {
  releaseKey,
  type App,
  type Assignment,
  type InstanceStatus,
  type Release,
} from "../src/model/app.js";
import { text } from "../src/store/index.js";
import { errorOf, startTestApi, type TestApi } from "./helpers/api.js";

let t: TestApi;
let apps: AppsClient;
let svc: AppService;
const ART_A = "a".repeat(64);
const ART_B = "b".repeat(64);

beforeAll(async () => {
  t = await startTestApi();
  apps = new AppsClient(t.admin);
  svc = t.api.deps.apps as AppService;
  await t.store.put("nodes/node-a", JSON.stringify({ name: "node-a" }));
});
afterAll(async () => {
  await t?.close();
});

const raw = async (key: string): Promise<string | undefined> => {
  const kv = await t.store.get(key);
  return kv === undefined ? undefined : text(kv.value);
};
const record = async <T>(key: string): Promise<T> => JSON.parse((await raw(key))!) as T;

/** A release as a build would have made it and a deploy made it current (no controller here). */
async function liveRelease(app: string, version: number, artifact: string, config = {}) {
  const rel: Release = {
    app,
    version,
    build: `b${version}`,
    artifact,
    processTypes: { web: "node server.js", worker: "node worker.js" },
    configVersion: 0,
    config: svc.secrets.seal(app, config),
    description: `Deploy ${version}`,
    createdAt: new Date().toISOString(),
    createdBy: "test",
    status: "active",
  };
  await t.store.put(releaseKey(app, version), JSON.stringify(rel));
  const cur = await record<App>(appKey(app));
  await t.store.put(appKey(app), JSON.stringify({ ...cur, currentRelease: version }));
}

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

describe("ps, run and logs", () => {
  const status = (a: Assignment, over: Partial<InstanceStatus>): InstanceStatus => ({
    id: a.id,
    app: a.app,
    release: a.release,
    processType: a.processType,
    index: a.index,
    node: a.node,
    state: "running",
    restarts: 0,
    lastOutput: [],
    updatedAt: new Date().toISOString(),
    ...over,
  });

  it("runs a one-off of the current release on a live node, and reports its exit code", async () => {
    const none = await errorOf(apps.run("hello", ["true"]));
    expect([none.status, none.message]).toEqual([
      409,
      "hello has no running release to run a command with: push code first",
    ]);
    const ans = await apps.run("roll", ["node", "-e", "process.exit(3)"]);
    expect(ans).toMatchObject({ source: "run.1", release: 2, node: "node-a" });
    const a = await record<Assignment>(assignmentKey("node-a", ans.id));
    expect(a).toMatchObject({
      kind: "oneoff",
      processType: "run",
      artifact: ART_B,
      command: "node -e 'process.exit(3)'",
      desired: "running",
    });
    expect((await apps.instance("roll", ans.id)).value).toMatchObject({ state: "pending" });
    // The agent reports it ended; a blocking read wakes on it.
    const first = await apps.instance("roll", ans.id);
    const waiting = apps.instance("roll", ans.id, { index: first.index, wait: "10s" });
    await t.store.put(
      instanceKey(ans.id),
      JSON.stringify(status(a, { state: "exited", exitCode: 3 })),
    );
    expect((await waiting).value).toMatchObject({ state: "exited", exitCode: 3, name: "run.1" });
    // After its assignment is gone the status still answers.
    await t.store.delete(assignmentKey("node-a", ans.id));
    expect((await apps.instance("roll", ans.id)).value).toMatchObject({
      exitCode: 3,
      desired: "stopped",
    });
    const second = await apps.run("roll", ["true"]);
    expect(second.source).toBe("run.1");
    expect((await errorOf(apps.run("roll", []))).field).toBe("command");
  });

  it("joins assignments with instance status and catalog health in ps", async () => {
    const a: Assignment = {
      id: "roll-v2-web-1-abcd",
      app: "roll",
      release: 2,
      processType: "web",
      index: 1,
      node: "node-a",
      artifact: ART_B,
      command: "node server.js",
      kind: "run",
      desired: "running",
      healthPath: "/",
      createdAt: new Date().toISOString(),
    };
    const w = { ...a, id: "roll-v2-worker-1-abcd", processType: "worker" };
    await t.store.put(assignmentKey("node-a", a.id), JSON.stringify(a));
    await t.store.put(assignmentKey("node-a", w.id), JSON.stringify(w));
    await t.store.put(instanceKey(a.id), JSON.stringify(status(a, { port: 5001, pid: 42 })));
    await t.store.put(
      instanceKey(w.id),
      JSON.stringify(
        status(w, { state: "crashed", restarts: 4, exitCode: 1, lastOutput: ["boom"] }),
      ),
    );
    await t.store.put(
      `catalog/roll/${a.id}`,
      JSON.stringify({
        service: "roll",
        id: a.id,
        node: "node-a",
        address: "127.0.0.1",
        port: 5001,
        tags: [],
        meta: {},
        checks: [{ type: "http", id: "http", path: "/", interval: "1s" }],
      }),
    );
    const now = new Date().toISOString();
    await t.store.put(
      `health/roll/${a.id}/http`,
      JSON.stringify({ status: "passing", output: "200 OK", updatedAt: now, since: now }),
    );
    const ps = (await apps.ps("roll")).filter((p) => p.kind === "run");
    expect(ps.map((p) => [p.name, p.state, p.port, p.restarts, p.health])).toEqual([
      ["web.1", "running", 5001, 0, "passing"],
      ["worker.1", "crashed", undefined, 4, undefined],
    ]);
    expect(ps[1]!.lastOutput).toEqual(["boom"]);
  });

  it("ships log lines and reads them back, filtered by process", async () => {
    await apps.shipLogs("roll", [
      { source: "web.1", line: "GET / 200" },
      { source: "worker.1", line: "job done\nnext job" },
      { source: "run.1", line: "migrated" },
    ]);
    const all = await apps.logs("roll");
    expect(all.map((l) => l.split(" ").slice(1).join(" "))).toEqual([
      "web.1 GET / 200",
      "worker.1 job done",
      "worker.1 next job",
      "run.1 migrated",
    ]);
    expect(all[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z web\.1 /);
    expect((await apps.logs("roll", { ps: "worker" })).length).toBe(2);
    expect((await apps.logs("roll", { tail: 1 })).map((l) => l.split(" ")[1])).toEqual(["run.1"]);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect(await apps.logs("roll", { since: future })).toEqual([]);
    expect((await errorOf(apps.logs("roll", { ps: "Bad Filter" }))).field).toBe("ps");
  });

  it("follows new lines as they are shipped", async () => {
    const seen: string[] = [];
    const abort = new AbortController();
    const following = apps.followLogs("roll", (l) => seen.push(l), {
      tail: 0,
      ps: "web",
      signal: abort.signal,
    });
    await new Promise((r) => setTimeout(r, 100));
    await apps.shipLogs("roll", [
      { source: "worker.1", line: "not this" },
      { source: "web.2", line: "live line" },
    ]);
    for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    abort.abort();
    await following;
    expect(seen.map((l) => l.split(" ").slice(1).join(" "))).toEqual(["web.2 live line"]);
  });

  it("lets an agent ship only the logs of apps with instances on its node", async () => {
    const agent = new AppsClient(
      await t.clientWith([{ resource: "node", prefix: "node-a", access: "write" }]),
    );
    expect(
      (await agent.shipLogs("roll", [{ source: "web.1", line: "from the agent" }])).lines,
    ).toBe(1);
    expect((await errorOf(agent.shipLogs("cfg", [{ source: "web.1", line: "x" }]))).status).toBe(
      403,
    );
  });
});

describe("destroy", () => {
  it("needs the name confirmed, and then removes every trace of the app", async () => {
    const before = (await t.store.status()).revision;
    const unconfirmed = await errorOf(apps.destroy("roll", "rol"));
    expect([unconfirmed.status, unconfirmed.field]).toEqual([400, "confirm"]);
    expect((await t.store.status()).revision).toBe(before);

    // An artifact only roll uses, and one another app's release uses too.
    await liveRelease("hello", 1, ART_A);
    const artifacts = join(t.dataDir, "artifacts");
    mkdirSync(artifacts, { recursive: true });
    for (const sha of [ART_A, ART_B]) writeFileSync(join(artifacts, `${sha}.tar.gz`), "x");
    await t.store.put("builds/roll/b1", JSON.stringify({ id: "b1" }));
    expect(existsSync(join(t.dataDir, "logs", "roll", "app.log"))).toBe(true);

    // Stand in for the agent: an instance whose assignment goes is stopped.
    const agent = t.store.watch({ prefix: "assignments/" });
    const stopping = (async () => {
      for await (const batch of agent)
        for (const e of batch) {
          if (e.type !== "delete") continue;
          const id = e.kv.key.split("/")[2]!;
          const cur = await t.store.get(instanceKey(id));
          if (cur !== undefined)
            await t.store.put(
              instanceKey(id),
              JSON.stringify({ ...JSON.parse(text(cur.value)), state: "stopped" }),
            );
        }
    })();
    const started = Date.now();
    const report = await apps.destroy("roll", "roll");
    agent.cancel();
    await stopping;
    expect(report).toMatchObject({ ok: true, app: "roll", artifactsRemoved: 1, stillStopping: 0 });
    expect(report.stopped).toBeGreaterThanOrEqual(2);
    expect(Date.now() - started).toBeLessThan(4000);
    const left = await t.store.range({ prefix: "" }, { keysOnly: true });
    const keys = left.kvs.map((kv) => kv.key).filter((k) => !k.startsWith("sys/"));
    expect(keys.filter((k) => k.includes("roll"))).toEqual([]);
    expect(keys).toContain(appKey("hello"));
    expect(existsSync(join(t.dataDir, "repos", "roll.git"))).toBe(false);
    expect(existsSync(join(t.dataDir, "logs", "roll"))).toBe(false);
    expect(existsSync(join(artifacts, `${ART_B}.tar.gz`))).toBe(false);
    expect(existsSync(join(artifacts, `${ART_A}.tar.gz`))).toBe(true);
    expect((await errorOf(apps.info("roll"))).status).toBe(404);
    // The name is free again.
    expect((await apps.create("roll")).currentRelease).toBe(0);
  });
});
