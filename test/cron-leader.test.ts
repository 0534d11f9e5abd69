/**
 * The cron clock on two `gantry server`s sharing one real etcd: the leader runs an
 * every-second job; when it is killed (-9) mid-run the other takes over, runs the ticks missed
 * meanwhile ONCE (the latest; the others counted on one `missed` record) and goes on — and no
 * tick ever gets two one-offs: every cron assignment in the store is the one its tick's record
 * names. No agent runs: the one-offs stay assigned (overlap on, so each tick starts one).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appKey } from "../src/apps/keys.js";
import { cronRunsPrefix } from "../src/cron/keys.js";
import { AssignmentSchema, releaseKey, type App, type Release } from "../src/model/app.js";
import { CronRunSchema, type CronRun } from "../src/model/cron.js";
import { K } from "../src/model/keys.js";
import { openStore, text, type Store } from "../src/store/index.js";
import { startEtcd, type EtcdServer } from "./helpers/etcd.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import { eventually } from "./helpers/paas.js";

const APP = "tick";
let etcd: EtcdServer;
let store: Store;
let servers: GantryProcess[] = [];

async function role(g: GantryProcess): Promise<string | undefined> {
  const res = await fetch(`${g.url}/v1/health`);
  return ((await res.json()) as { controllers?: string }).controllers;
}

beforeAll(async () => {
  etcd = await startEtcd();
  const location = `etcd://${etcd.endpoints.map((u) => u.replace(/^http:\/\//, "")).join(",")}`;
  servers = [
    await startGantry({ mode: "server", store: location }),
    await startGantry({ mode: "server", store: location }),
  ];
  store = await openStore(location);
}, 60_000);

afterAll(async () => {
  await store?.close();
  for (const g of servers) await g.cleanup();
  await etcd?.cleanup();
});

async function records(): Promise<CronRun[]> {
  const res = await store.range({ prefix: cronRunsPrefix(APP) });
  return res.kvs
    .map((kv) => CronRunSchema.parse(JSON.parse(text(kv.value))))
    .sort((a, b) => a.tick.localeCompare(b.tick));
}

describe("the cron clock across a leader change", () => {
  it("runs each tick once, and a gap's ticks once, when the leader dies mid-run", async () => {
    const roles = await eventually("a leader and a standby", async () => {
      const r = await Promise.all(servers.map(role));
      return r.includes("leader") && r.includes("standby") ? r : undefined;
    });
    const leader = servers[roles.indexOf("leader")]!;
    const standby = servers[roles.indexOf("standby")]!;
    // An app with a release that has code, and a live node to place the one-offs on.
    expect((await standby.cli(["apps:create", APP])).code).toBe(0);
    const app = JSON.parse(text((await store.get(appKey(APP)))!.value)) as App;
    const rel: Release = {
      app: APP,
      version: 1,
      build: "b1",
      artifact: "a".repeat(64),
      processTypes: {},
      configVersion: 0,
      config: {},
      description: "test",
      createdAt: new Date().toISOString(),
      createdBy: "test",
      status: "active",
    };
    await store.put(releaseKey(APP, 1), JSON.stringify(rel));
    await store.put(appKey(APP), JSON.stringify({ ...app, currentRelease: 1 }));
    await store.put(`${K.nodes}n1`, JSON.stringify({ name: "n1" }));

    const add = await standby.cli([
      "cron:add",
      APP,
      "* * * * * *",
      "--name",
      "beat",
      "--overlap",
      "--",
      "true",
    ]);
    expect(add.code, add.stderr).toBe(0);
    await eventually("three runs", async () => (await records()).length >= 3 || undefined, 15_000);

    await leader.kill();
    const killedAt = Date.now();
    await eventually("the standby to lead", async () => (await role(standby)) === "leader", 30_000);
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    await eventually(
      "three runs by the new leader",
      async () =>
        (await records()).filter((r) => Date.parse(r.tick) > killedAt).length >= 3 || undefined,
      15_000,
    );
    const runs = await records();
    const cron = (await store.range({ prefix: K.assignments })).kvs
      .map((kv) => AssignmentSchema.parse(JSON.parse(text(kv.value))))
      .filter((a) => a.app === APP && a.processType === "cron");
    expect((await standby.cli(["cron:remove", APP, "beat"])).code).toBe(0);

    // No tick started twice: every cron one-off is the one its tick's record names, and back.
    const started = runs.filter((r) => r.instance !== undefined);
    expect(new Set(started.map((r) => r.instance)).size).toBe(started.length);
    expect(cron.map((a) => a.id).sort()).toEqual(started.map((r) => r.instance!).sort());
    expect(started.every((r) => r.status === "started")).toBe(true);

    // The outage: one start for the ticks missed (the latest), one `missed` record for the rest.
    const ticks = started.map((r) => Date.parse(r.tick));
    let gapAt = 1;
    for (let i = 1; i < ticks.length; i++)
      if (ticks[i]! - ticks[i - 1]! > ticks[gapAt]! - ticks[gapAt - 1]!) gapAt = i;
    const before = ticks[gapAt - 1]!;
    const after = ticks[gapAt]!;
    expect(after - before).toBeGreaterThan(3000);
    const missed = runs.filter((r) => r.status === "missed");
    expect(missed).toHaveLength(1);
    expect(Date.parse(missed[0]!.tick)).toBe(before + 1000);
    const count = Number(/^(\d+) tick/.exec(missed[0]!.reason ?? "")?.[1]);
    expect(count).toBe((after - before) / 1000 - 1);
    // Elsewhere one run a second, none skipped.
    for (let i = 1; i < ticks.length; i++)
      if (i !== gapAt) expect(ticks[i]! - ticks[i - 1]!).toBe(1000);
    console.log(
      `leader change: ${count} tick(s) missed while no server led, the latest ran once; ${started.length} runs, ${cron.length} one-offs`,
    );
  }, 90_000);
});
