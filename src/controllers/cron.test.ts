/**
 * Two cron clocks at once on one real store (what two servers that both believe they lead would
 * do for a moment): every tick still gets one run record and one one-off, never two.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { appKey } from "../apps/keys.js";
import { cronJobKey, cronRunsPrefix } from "../cron/keys.js";
import { AssignmentSchema, releaseKey } from "../model/app.js";
import { CronRunSchema, type CronJob } from "../model/cron.js";
import { K } from "../model/keys.js";
import { openStore, text } from "../store/index.js";
import { startCronController } from "./cron.js";

const dir = mkdtempSync(join(tmpdir(), "gantry-cron-clock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("two cron clocks on one store", () => {
  it("start each tick once", async () => {
    const store = await openStore(join(dir, "store"));
    const now = new Date().toISOString();
    await store.put(
      appKey("hello"),
      JSON.stringify({
        name: "hello",
        currentRelease: 1,
        healthPath: "/",
        createdBy: "t",
        createdAt: now,
        formation: {},
        domains: [],
        deployTimeoutMs: 60000,
        drainMs: 1000,
      }),
    );
    await store.put(
      releaseKey("hello", 1),
      JSON.stringify({
        app: "hello",
        version: 1,
        build: "b1",
        artifact: "a".repeat(64),
        processTypes: {},
        configVersion: 0,
        config: {},
        description: "t",
        createdAt: now,
        createdBy: "t",
        status: "active",
      }),
    );
    await store.put(`${K.nodes}n1`, JSON.stringify({ name: "n1" }));
    const job: CronJob = {
      id: "beat",
      app: "hello",
      schedule: "* * * * * *",
      tz: "UTC",
      command: ["true"],
      overlap: true,
      timeoutMs: 600_000,
      createdAt: now,
      createdBy: "t",
    };
    await store.put(cronJobKey("hello", "beat"), JSON.stringify(job));
    const lines: string[] = [];
    const clocks = [0, 1].map(() => startCronController({ store, log: (l) => lines.push(l) }));
    await new Promise((r) => setTimeout(r, 3600));
    await Promise.all(clocks.map((c) => c.stop()));
    const runs = (await store.range({ prefix: cronRunsPrefix("hello", "beat") })).kvs.map((kv) =>
      CronRunSchema.parse(JSON.parse(text(kv.value))),
    );
    const oneoffs = (await store.range({ prefix: K.assignments })).kvs.map((kv) =>
      AssignmentSchema.parse(JSON.parse(text(kv.value))),
    );
    await store.close();
    expect(lines).toEqual([]);
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(runs.every((r) => r.status === "started")).toBe(true);
    expect(oneoffs.map((a) => a.id).sort()).toEqual(runs.map((r) => r.instance).sort());
    expect(oneoffs.every((a) => a.processType === "cron" && a.kind === "oneoff")).toBe(true);
  }, 20_000);
});
