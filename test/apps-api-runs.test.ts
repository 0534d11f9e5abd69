/**
 * The apps API in-process over a real store and real HTTP: ps, one-off runs, log shipping and
 * following, and destroy (apps, config and releases are in test/apps-api.test.ts). No agent or
 * deploy controller runs here: the tests write what those would.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { appKey, assignmentKey, instanceKey } from "../src/apps/keys.js";
import { AppsClient } from "../src/client/apps.js";
import type { Assignment, InstanceStatus } from "../src/model/app.js";
import { text } from "../src/store/index.js";
import { errorOf } from "./helpers/api.js";
import { ART_A, ART_B, apps, liveRelease, record, t, useAppsApi } from "./helpers/apps-api.js";

useAppsApi();

/** The apps these tests build on: hello with no release yet, cfg, and roll live at v2. */
beforeAll(async () => {
  await apps.create("hello");
  await apps.create("cfg");
  await apps.create("roll");
  await liveRelease("roll", 1, ART_A);
  await liveRelease("roll", 2, ART_B);
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
    // Its certificate and ACME state (the record's shape does not matter to destroy).
    for (const key of ["certs/roll", "acme/status/roll", "acme/off/roll"])
      await t.store.put(key, "{}");
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
