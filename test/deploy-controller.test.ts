/**
 * The deploy controller over a real store and the real apps API. The test stands in for the
 * agent (which is pure I/O elsewhere): it watches assignments and writes the instance status,
 * catalog entry and health result an agent would, behaving as each test asks — pass, crash,
 * or never pass.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appKey, assignmentKey } from "../src/apps/keys.js";
import type { AppService } from "../src/apps/service.js";
import { AppsClient } from "../src/client/apps.js";
import { startDeployController, type DeployController } from "../src/controllers/deploy.js";
import type { Principal } from "../src/model/principal.js";
import {
  AssignmentSchema,
  releaseKey,
  type App,
  type Assignment,
  type Build,
  type Release,
} from "../src/model/app.js";
import { text, type Store } from "../src/store/index.js";
import { startTestApi, type TestApi } from "./helpers/api.js";
import { FakeAgent } from "./helpers/fake-agent.js";

let t: TestApi;
let apps: AppsClient;
let svc: AppService;
let agent: FakeAgent;
let controllers: DeployController[];
const who: Principal = { tokenId: "t", name: "tester", policies: [{ admin: true }] };
const ART = "c".repeat(64);
const HOUR = 3_600_000;

const build = (
  id: string,
  processTypes: Record<string, string> = { web: "node server.js" },
): Build => ({
  id,
  app: "hello",
  status: "succeeded",
  commit: "0123456789abcdef",
  startedAt: new Date().toISOString(),
  artifact: ART,
  processTypes,
  createdBy: "tester",
});

async function assignments(
  store: Store,
  release?: number,
): Promise<{ a: Assignment; modRevision: number }[]> {
  const res = await store.range({ prefix: "assignments/" });
  return res.kvs
    .map((kv) => ({
      a: AssignmentSchema.parse(JSON.parse(text(kv.value))),
      modRevision: kv.modRevision,
    }))
    .filter(
      (x) =>
        x.a.app === "hello" &&
        x.a.kind === "run" &&
        (release === undefined || x.a.release === release),
    );
}

async function until<T>(
  what: string,
  f: () => Promise<T | undefined | false>,
  ms = 8000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const app = async (): Promise<App> =>
  JSON.parse(text((await t.store.get(appKey("hello")))!.value)) as App;
const release = async (v: number): Promise<Release> =>
  JSON.parse(text((await t.store.get(releaseKey("hello", v)))!.value)) as Release;

beforeAll(async () => {
  t = await startTestApi();
  apps = new AppsClient(t.admin);
  svc = t.api.deps.apps as AppService;
  await t.store.put("nodes/node-a", JSON.stringify({ name: "node-a" }));
  await t.store.put("nodes/node-b", JSON.stringify({ name: "node-b" }));
  agent = new FakeAgent(t.store);
  // Two controllers on one store: their guarded writes must never apply a step twice. Their
  // resync is an hour away: every deploy below must move on events and wake-ups alone.
  controllers = [
    startDeployController({ store: t.store, log: () => undefined, resyncMs: HOUR }),
    startDeployController({ store: t.store, log: () => undefined, resyncMs: HOUR }),
  ];
  await apps.create("hello", { deployTimeoutMs: 1500, drainMs: 300 });
});
afterAll(async () => {
  for (const c of controllers ?? []) await c.stop();
  await agent?.stop();
  await t?.close();
});

describe("deploy controller", () => {
  it("deploys a build: instances start, pass, and the release goes live", async () => {
    const lines: string[] = [];
    const out = await svc.releaseFromBuild("hello", build("b1"), who, (l) => lines.push(l));
    expect(out).toEqual({ ok: true, version: 1, url: "http://hello.localhost:8080/" });
    expect(lines[0]).toBe("released v1; deploying");
    expect(lines).toContain("web.1 passes its health check");
    expect(lines.at(-1)).toBe("v1 is live");
    expect(await app()).toMatchObject({ currentRelease: 1, formation: { web: 1 } });
    expect((await release(1)).status).toBe("active");
    const live = await assignments(t.store);
    expect(live.map((x) => [x.a.processType, x.a.index, x.a.desired])).toEqual([
      ["web", 1, "running"],
    ]);
    // Two controllers, one deploy: exactly one instance, and the start logged once.
    const deploy = await apps.deploy("hello");
    expect(deploy.log.filter((l) => l.startsWith("starting "))).toHaveLength(1);
  });

  it("rolls out a config change with zero downtime: new instance passes before the old one drains", async () => {
    agent.timeline.length = 0;
    const answer = await apps.changeConfig("hello", { set: { GREETING: "hi" } });
    expect(answer).toEqual({ changed: true, version: 2 });
    const lines: string[] = [];
    const result = await apps.followDeploy("hello", { release: 2, onLine: (l) => lines.push(l) });
    expect(result).toEqual({ ok: true, release: 2, url: "http://hello.localhost:8080/" });
    expect(lines.at(-1)).toBe(
      "v2 is live; traffic moved from v1, draining 1 old instance(s) for 0.3 s",
    );
    expect((await release(1)).status).toBe("superseded");
    await until("the old instance to stop", async () =>
      (await assignments(t.store, 1)).length === 0 ? true : undefined,
    );
    expect(agent.timeline).toEqual(["start web.1@v2", "drain web.1@v1", "stop web.1@v1"]);
  });

  it("fails a deploy whose instance crashes: the old one never stops, the release says why", async () => {
    const before = await assignments(t.store, 2);
    agent.behaviour.set(3, "crash");
    agent.timeline.length = 0;
    const answer = await apps.changeConfig("hello", { unset: ["GREETING"] });
    const result = await apps.followDeploy("hello", { release: answer.version });
    expect(result.ok).toBe(false);
    expect(result.error).toContain("web.1 crashed, exit code 1, restarted 3 times");
    expect(result.error).toContain("Error: GREETING is not set");
    const rel = await release(3);
    expect([rel.status, rel.error]).toEqual(["failed", result.error]);
    expect((await app()).currentRelease).toBe(2);
    expect(await assignments(t.store, 3)).toEqual([]);
    // The serving instance was never written to.
    expect(await assignments(t.store, 2)).toEqual(before);
    expect(agent.timeline).toEqual(["start web.1@v3", "stop web.1@v3"]);
  });

  it("fails a deploy that never passes its check by the deadline, leaving the old release serving", async () => {
    const before = await assignments(t.store, 2);
    agent.behaviour.set(4, "never");
    const started = Date.now();
    const answer = await apps.changeConfig("hello", { set: { GREETING: "again" } });
    expect(answer.version).toBe(4);
    const result = await apps.followDeploy("hello", { release: 4 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(result.ok).toBe(false);
    expect(result.error).toBe(
      "not ready within 2 s: web.1 did not pass its health check on / (critical: HTTP GET /: 500 Internal Server Error)",
    );
    expect((await release(4)).status).toBe("failed");
    expect(await assignments(t.store, 4)).toEqual([]);
    expect(await assignments(t.store, 2)).toEqual(before);
    // The CLI's view of it: the failed release with its reason.
    const listed = await apps.releases("hello");
    expect(listed.find((r) => r.version === 4)).toMatchObject({
      status: "failed",
      error: result.error,
    });
  });

  it("scales: extra instances start and pass before surplus ones drain and stop", async () => {
    // A release with a worker type, deployed (v5).
    agent.timeline.length = 0;
    const out = await svc.releaseFromBuild(
      "hello",
      build("b5", { web: "node server.js", worker: "node worker.js" }),
      who,
      () => undefined,
    );
    expect(out).toMatchObject({ ok: true, version: 5 });
    const answer = await apps.scale("hello", { web: 3 });
    const lines: string[] = [];
    const scaled = await apps.followScale("hello", {
      id: answer.scaling!,
      onLine: (l) => lines.push(l),
    });
    expect(scaled, lines.join("\n")).toEqual({ ok: true });
    expect(lines[0]).toBe("scaling hello to web=3 worker=0");
    expect(lines.at(-1)).toBe("hello runs web=3 worker=0");
    await until("three passing web instances", async () => {
      const ps = await apps.ps("hello");
      const web = ps.filter(
        (p) => p.release === 5 && p.processType === "web" && p.health === "passing",
      );
      return web.length === 3 ? web : undefined;
    });
    const spread = (await assignments(t.store, 5)).map((x) => x.a.node).sort();
    expect(spread).toEqual(["node-a", "node-a", "node-b"]);

    agent.timeline.length = 0;
    await apps.scale("hello", { web: 1, worker: 1 });
    await until("web=1 worker=1", async () => {
      const now = (await assignments(t.store, 5))
        .map((x) => `${x.a.processType}.${x.a.index}`)
        .sort();
      const stopped = agent.timeline.filter((e) => e.startsWith("stop web") && e.endsWith("@v5"));
      return now.join(" ") === "web.1 worker.1" && stopped.length === 2 ? true : undefined;
    });
    // The worker started (and ran for a second) before any web instance drained.
    const v5 = agent.timeline.filter((e) => e.endsWith("@v5"));
    expect(v5[0]).toBe("start worker.1@v5");
    expect(v5.slice(1, 3).sort()).toEqual(["drain web.2@v5", "drain web.3@v5"]);
    expect(v5.slice(3).sort()).toEqual(["stop web.2@v5", "stop web.3@v5"]);
  });

  it("a later ps:scale replaces one still in progress, which ends saying so", async () => {
    agent.behaviour.set(5, "never");
    const first = await apps.scale("hello", { web: 2 });
    const lines: string[] = [];
    const following = apps.followScale("hello", {
      id: first.scaling!,
      onLine: (l) => lines.push(l),
    });
    // It says what it waits for: web.2 never passes.
    await until("the scaling to say why it waits", async () =>
      lines.includes(
        "waiting for web.2: failing its health check on / with status 500 Internal Server Error",
      ),
    );
    const second = await apps.scale("hello", { web: 1 });
    expect(await following).toEqual({ ok: false, error: "a later ps:scale replaced this one" });
    expect(await apps.followScale("hello", { id: second.scaling! })).toEqual({ ok: true });
    agent.behaviour.delete(5);
  });

  it("follows a deploy over HTTP as text lines ending with a gantry:result line", async () => {
    const res = await fetch(`${t.url}/v1/apps/hello/deploys/current?follow&release=5`, {
      headers: { authorization: `Bearer ${t.adminToken}` },
    });
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    const lines = (await res.text()).trimEnd().split("\n");
    expect(lines[0]).toBe("deploying v5: Deploy 0123456789ab");
    expect(JSON.parse(lines.at(-1)!.slice("gantry:result ".length))).toEqual({
      ok: true,
      release: 5,
      url: "http://hello.localhost:8080/",
    });
  });

  it("rolls back to an earlier release with a new release", async () => {
    const started = Date.now();
    const answer = await apps.rollback("hello", 2);
    expect(answer.version).toBe(6);
    const result = await apps.followDeploy("hello", { release: 6 });
    expect(result.ok).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await app()).toMatchObject({ currentRelease: 6 });
    expect((await apps.config("hello")).values).toEqual({ GREETING: "hi" });
    await until("v5 instances gone", async () =>
      (await assignments(t.store, 5)).length === 0 ? true : undefined,
    );
    // v2 had only web: the worker is gone with v5, web runs at the formation's count.
    expect((await assignments(t.store, 6)).map((x) => x.a.processType)).toEqual(["web"]);
  });

  it("waits through a crash the agent restarts, saying why, and goes live", async () => {
    agent.behaviour.set(7, "crash-once");
    const started = Date.now();
    const answer = await apps.changeConfig("hello", { set: { GREETING: "once" } });
    expect(answer.version).toBe(7);
    const lines: string[] = [];
    const result = await apps.followDeploy("hello", { release: 7, onLine: (l) => lines.push(l) });
    expect(result.ok, lines.join("\n")).toBe(true);
    expect(lines).toContain(
      'waiting for web.1: crashed (exit code 1): "Error: listen EADDRINUSE: address already in use :::5001"; restarting in 1 s',
    );
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("moved every deploy on events and wake-ups alone: the resync never ran, nor was needed", () => {
    for (const c of controllers) {
      const stats = c.stats();
      expect(stats.resyncFinds).toBe(0);
      expect(stats.reconciles.resync).toBe(0);
      expect(stats.reconciles.event).toBeGreaterThan(10);
    }
  });

  it("stops everything on destroy and forgets the app", async () => {
    const ids = (await assignments(t.store)).map((x) => x.a);
    expect(ids.length).toBeGreaterThan(0);
    const r = await apps.destroy("hello", "hello");
    expect(r.stopped).toBe(ids.length);
    expect(r.stillStopping).toBe(0);
    for (const a of ids) expect(await t.store.get(assignmentKey(a.node, a.id))).toBeUndefined();
    const left = await t.store.range({ prefix: "catalog/hello/" });
    expect(left.count).toBe(0);
  });
});
