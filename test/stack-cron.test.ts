/**
 * `cron:` in gantry.yaml through the stack engine against a real API and store in-process:
 * apply creates the jobs, a second plan is empty, a changed schedule is an update, moving a job
 * to another app replaces it, removal with prune deletes it; a job added by hand is not touched.
 */
import { describe, expect, it } from "vitest";
import type { AppService } from "../src/apps/service.js";
import { CronClient } from "../src/client/cron.js";
import { applyPlan } from "../src/spec/apply.js";
import { planStack } from "../src/spec/live.js";
import { planText } from "../src/spec/render.js";
import { stackApi } from "./helpers/stack-api.js";

const s = stackApi();
const { registry, ctx } = s;

const stackText = (body: string, prune = false) =>
  `stack: { name: cron, prune: ${prune} }\nkv: { marker: "1" }\n${body === "" ? "" : `cron:\n${body}`}`;
const NIGHTLY = (app: string, schedule = "0 3 * * *") =>
  `  nightly: { app: ${app}, schedule: "${schedule}", command: "node task.js", timeout: 10m, tz: Europe/Paris }\n`;

const plan = async (text: string) => (await planStack(ctx(), registry, s.parse(text))).plan;
async function apply(text: string) {
  const { plan: p, snapshot } = await planStack(ctx(), registry, s.parse(text));
  return { plan: p, result: await applyPlan(ctx(), registry, p, snapshot) };
}

describe("cron in gantry.yaml", () => {
  it("creates, updates, moves and prunes jobs; leaves hand-made ones alone", async () => {
    const svc = s.t.api.deps.apps as AppService;
    const who = { tokenId: "t", name: "t", policies: [{ admin: true as const }] };
    for (const app of ["hello", "other"]) await svc.create(app, {}, who);
    const cron = new CronClient(s.t.admin);
    await cron.add("hello", { id: "by-hand", schedule: "* * * * *", command: ["true"] });

    const first = await apply(stackText(NIGHTLY("hello")));
    expect(first.result).toMatchObject({ created: 2 }); // the kv marker and the job
    const [job] = (await cron.list("hello")).filter((j) => j.id === "nightly");
    expect(job).toMatchObject({
      schedule: "0 3 * * *",
      tz: "Europe/Paris",
      command: ["sh", "-c", "node task.js"],
      timeoutMs: 600_000,
      overlap: false,
      source: "stack",
    });
    expect(planText(await plan(stackText(NIGHTLY("hello"))))).toEqual([
      "No changes: the platform matches the spec.",
    ]);

    const changed = planText(await plan(stackText(NIGHTLY("hello", "30 4 * * *")))).join("\n");
    expect(changed).toMatch(/schedule/);
    await apply(stackText(NIGHTLY("hello", "30 4 * * *")));
    expect((await cron.list("hello")).find((j) => j.id === "nightly")?.schedule).toBe("30 4 * * *");

    await apply(stackText(NIGHTLY("other", "30 4 * * *")));
    expect((await cron.list("hello")).map((j) => j.id)).toEqual(["by-hand"]);
    expect((await cron.list("other")).map((j) => j.id)).toEqual(["nightly"]);

    const gone = await apply(stackText("", true));
    expect(gone.result).toMatchObject({ destroyed: 1 });
    expect(await cron.list("other")).toEqual([]);
    expect((await cron.list("hello")).map((j) => j.id)).toEqual(["by-hand"]);
  });
});
