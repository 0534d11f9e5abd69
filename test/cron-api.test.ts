/**
 * The cron API in-process over a real store and real HTTP: a reader lists but cannot add; a
 * writer adds (audited), the same job again changes nothing, another under its name is refused;
 * invalid schedules are refused naming the field; apps:destroy takes the jobs and runs with it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppService } from "../src/apps/service.js";
import { CronClient } from "../src/client/cron.js";
import { cronRunKey } from "../src/cron/keys.js";
import { K } from "../src/model/keys.js";
import { errorOf, startTestApi, type TestApi } from "./helpers/api.js";

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
  const who = { tokenId: "t", name: "t", policies: [{ admin: true as const }] };
  await (t.api.deps.apps as AppService).create("shop", {}, who);
});
afterAll(async () => {
  await t?.close();
});

describe("the cron API", () => {
  it("lets readers list and writers change, audited; refuses bad input naming the field", async () => {
    const reader = new CronClient(
      await t.clientWith([{ resource: "app", prefix: "shop", access: "read" }]),
    );
    const writer = new CronClient(
      await t.clientWith([{ resource: "app", prefix: "shop", access: "write" }], "cron-writer"),
    );
    const denied = await errorOf(reader.add("shop", { schedule: "* * * * *", command: ["true"] }));
    expect(denied.status).toBe(403);

    const added = await writer.add("shop", {
      schedule: "*/5  * * * *",
      command: ["node", "task.js"],
    });
    expect(added).toMatchObject({
      changed: true,
      job: {
        id: "node-task-js",
        schedule: "*/5 * * * *",
        tz: "UTC",
        overlap: false,
        timeoutMs: 3_600_000,
        createdBy: "cron-writer",
      },
    });
    expect(
      (await writer.add("shop", { schedule: "*/5 * * * *", command: ["node", "task.js"] })).changed,
    ).toBe(false);
    const clash = await errorOf(
      writer.add("shop", { schedule: "0 * * * *", command: ["node", "task.js"] }),
    );
    expect([clash.status, clash.message]).toEqual([
      409,
      'app shop already has a job "node-task-js" (*/5 * * * *: node task.js); remove it first or pass another --name',
    ]);
    const bad = await errorOf(writer.add("shop", { schedule: "0 0 32 * *", command: ["x"] }));
    expect([bad.status, bad.field]).toEqual([400, "schedule"]);
    expect(bad.message).toMatch(/day/i);
    const zone = await errorOf(
      writer.add("shop", { schedule: "0 0 * * *", tz: "X/Y", command: ["x"] }),
    );
    expect([zone.status, zone.field]).toEqual([400, "tz"]);

    const [job] = await reader.list("shop");
    expect(job).toMatchObject({ id: "node-task-js", runs: [] });
    expect(Date.parse(job!.next!) % 300_000).toBe(0);
    expect(await reader.runs("shop", "node-task-js")).toEqual([]);
    expect((await errorOf(reader.runs("shop", "nope"))).status).toBe(404);
    expect((await errorOf(reader.remove("shop", "node-task-js"))).status).toBe(403);

    const audit = (await t.store.range({ prefix: K.audit })).kvs.map((kv) =>
      Buffer.from(kv.value).toString(),
    );
    expect(audit.some((a) => a.includes("cron.add") && a.includes("shop/node-task-js"))).toBe(true);
  });

  it("apps:destroy removes the app's jobs and runs", async () => {
    const admin = new CronClient(t.admin);
    await admin.add("shop", { id: "nightly", schedule: "0 3 * * *", command: ["true"] });
    await t.store.put(
      cronRunKey("shop", "nightly", "2026-01-01T03:00:00.000Z"),
      JSON.stringify({
        job: "nightly",
        app: "shop",
        tick: "2026-01-01T03:00:00.000Z",
        status: "succeeded",
      }),
    );
    const who = { tokenId: "t", name: "t", policies: [{ admin: true as const }] };
    await (t.api.deps.apps as AppService).destroy("shop", who);
    expect((await t.store.range({ prefix: "cron/" })).kvs).toEqual([]);
  });
});
