/**
 * The release phase (issue 15) through two deploy controllers on one store and the real apps
 * API, with a stand-in agent: the phase's one-off is created once per release whatever the
 * number of controllers, before any instance of the release; its exit decides the release. The
 * controllers' resync is an hour away, so every step moves on events and wake-ups alone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appKey } from "../src/apps/keys.js";
import type { AppService } from "../src/apps/service.js";
import { AppsClient } from "../src/client/apps.js";
import { startDeployController, type DeployController } from "../src/controllers/deploy.js";
import {
  AssignmentSchema,
  releaseKey,
  type App,
  type Build,
  type Release,
} from "../src/model/app.js";
import type { Principal } from "../src/model/principal.js";
import { text } from "../src/store/index.js";
import { startTestApi, type TestApi } from "./helpers/api.js";
import { FakeAgent } from "./helpers/fake-agent.js";

let t: TestApi;
let apps: AppsClient;
let svc: AppService;
let agent: FakeAgent;
let controllers: DeployController[];
/** Every assignment ever written (id → process type and release), from a watch. */
const written = new Map<string, string>();
let cancelWatch: () => void = () => undefined;
const who: Principal = { tokenId: "t", name: "tester", policies: [{ admin: true }] };
const HOUR = 3_600_000;
/** Releases whose migration fails. */
const failing = new Set<number>();

const build = (id: string): Build => ({
  id,
  app: "hello",
  status: "succeeded",
  commit: "0123456789abcdef",
  startedAt: new Date().toISOString(),
  artifact: "d".repeat(64),
  processTypes: { web: "node server.js", release: "node migrate.js" },
  createdBy: "tester",
});

const release = async (v: number): Promise<Release> =>
  JSON.parse(text((await t.store.get(releaseKey("hello", v)))!.value)) as Release;
const app = async (): Promise<App> =>
  JSON.parse(text((await t.store.get(appKey("hello")))!.value)) as App;

beforeAll(async () => {
  t = await startTestApi();
  apps = new AppsClient(t.admin);
  svc = t.api.deps.apps as AppService;
  await t.store.put("nodes/node-a", JSON.stringify({ name: "node-a" }));
  await t.store.put("nodes/node-b", JSON.stringify({ name: "node-b" }));
  agent = new FakeAgent(t.store, (a) =>
    failing.has(a.release)
      ? { output: ["migrating", "Error: duplicate column"], exitCode: 1 }
      : { output: ["migrating", "migrated"], exitCode: 0 },
  );
  const watch = t.store.watch({ prefix: "assignments/" });
  cancelWatch = () => watch.cancel();
  void (async () => {
    for await (const batch of watch)
      for (const e of batch)
        if (e.type === "put") {
          const a = AssignmentSchema.parse(JSON.parse(text(e.kv.value)));
          written.set(a.id, `${a.processType}@v${a.release}`);
        }
  })();
  controllers = [1, 2].map(() =>
    startDeployController({ store: t.store, log: () => undefined, resyncMs: HOUR }),
  );
  await apps.create("hello", { deployTimeoutMs: 3000, drainMs: 200 });
});
afterAll(async () => {
  for (const c of controllers ?? []) await c.stop();
  cancelWatch();
  await agent?.stop();
  await t?.close();
});

const ofRelease = (v: number): string[] =>
  [...written.values()].filter((w) => w.endsWith(`@v${v}`)).sort();

describe("the release phase with two deploy controllers", () => {
  it("runs once, before the release's instances, and its output reaches the follower", async () => {
    const lines: string[] = [];
    const out = await svc.releaseFromBuild("hello", build("b1"), who, (l) => lines.push(l));
    expect(out, lines.join("\n")).toMatchObject({ ok: true, version: 1 });
    expect(ofRelease(1)).toEqual(["release@v1", "web@v1"]);
    expect(agent.timeline.slice(0, 2)).toEqual(["start release.1@v1", "start web.1@v1"]);
    expect(lines).toContain("running the release phase: node migrate.js (release.1 on node-a)");
    expect(lines).toContain("release.1: migrated");
    expect(lines.findIndex((l) => l.startsWith("the release phase succeeded"))).toBeLessThan(
      lines.findIndex((l) => l.startsWith("starting web.1")),
    );
    expect((await release(1)).releasePhase).toMatchObject({ status: "succeeded", exitCode: 0 });
  });

  it("a failed phase fails the release: no instance of it, the previous one serves", async () => {
    failing.add(2);
    const answer = await apps.changeConfig("hello", { set: { GREETING: "hi" } });
    expect(answer.version).toBe(2);
    const result = await apps.followDeploy("hello", { release: 2 });
    expect(result).toMatchObject({
      ok: false,
      error: "release phase failed (exit 1): Error: duplicate column",
    });
    expect(ofRelease(2)).toEqual(["release@v2"]);
    expect((await release(2)).status).toBe("failed");
    expect((await app()).currentRelease).toBe(1);
  });

  it("moved on events alone: no reconcile needed the resync", () => {
    for (const c of controllers) expect(c.stats().resyncFinds).toBe(0);
  });
});
