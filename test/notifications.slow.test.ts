/**
 * Notifications end to end (docs/delivery/notifications.md): `gantry up` as a real process, the
 * CLI, real git pushes, and a webhook receiver on loopback. Deploys, a failing test run and a
 * promotion are real; for the restart, a Build record is written into the store as the tests
 * step writes it while the server is stopped (so no notifier runs; the server holds the store).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signBody } from "../src/gitops/signature.js";
import type { Build } from "../src/model/app.js";
import type { HookView } from "../src/model/notify.js";
import { openStore } from "../src/store/index.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import { startReceiver, type Receiver } from "./helpers/notify-receiver.js";
import { eventually, HELLO, localRepo, push, stopGantry, withToken } from "./helpers/paas.js";

let g: GantryProcess;
let rx: Receiver;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-notify-"));
  rx = await startReceiver();
  g = await startGantry();
}, 60_000);
afterAll(async () => {
  await stopGantry(g);
  await rx?.close();
  rmSync(work, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<string> {
  const r = await g.cli(args, { timeoutMs: 60_000 });
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return r.stdout;
}

/** `notifications:add` → the hook's id and its secret (printed once). */
async function addHook(args: string[]): Promise<{ id: string; secret: string; out: string }> {
  const out = await cli(["notifications:add", ...args]);
  const id = /Added notification ([0-9a-f]{8})/.exec(out)?.[1];
  const secret = /Signing secret \(shown only now\): ([0-9a-f]{64})/.exec(out)?.[1];
  expect(id, out).toBeDefined();
  expect(secret, out).toBeDefined();
  return { id: id!, secret: secret!, out };
}

const events = (path: string, app?: string): string[] =>
  rx
    .at(path)
    .filter((r) => app === undefined || r.body["app"] === app)
    .map(
      (r) =>
        `${String(r.body["event"])}${r.body["release"] === undefined ? "" : ` v${String(r.body["release"])}`}`,
    );

/** Write records into the stopped server's store, then start it again. */
async function whileStopped(
  write: (put: (k: string, v: unknown) => Promise<void>) => Promise<void>,
) {
  await g.stop();
  const store = await openStore(join(g.dataDir, "store"));
  try {
    await write(async (k, v) => void (await store.put(k, JSON.stringify(v))));
  } finally {
    await store.close();
  }
  await g.start();
}

let ok: { id: string; secret: string };
let pipe: { id: string; secret: string };

describe("notifications", () => {
  it("a push tells deploy.started then deploy.succeeded, signed, with a text", async () => {
    await cli(["apps:create", "hello-prod"]);
    const created = await cli(["apps:create", "hello"]);
    ok = await addHook(["hello", `${rx.url}/ok?token=sekrit`]);
    await addHook(["hello", `${rx.url}/flaky`, "--events", "deploy.succeeded"]);
    rx.script("/flaky", [500, 500]);
    const repo = await localRepo(work, HELLO);
    const pushed = await push(repo, withToken(/git remote\s+(\S+)/.exec(created)![1]!, g.token));
    expect(pushed.code, pushed.stderr).toBe(0);

    await eventually("deploy.succeeded at /ok", () =>
      events("/ok").includes("deploy.succeeded v1") ? true : undefined,
    );
    expect(events("/ok")).toEqual(["deploy.started v1", "deploy.succeeded v1"]);
    const [started, done] = rx.at("/ok");
    expect(started!.body).toMatchObject({ event: "deploy.started", app: "hello", release: 1 });
    expect(done!.body).toMatchObject({
      event: "deploy.succeeded",
      app: "hello",
      release: 1,
      status: "succeeded",
    });
    expect(String(done!.body["url"])).toMatch(/^http:\/\/hello\.localhost:\d+\/$/);
    expect(String(done!.body["text"])).toMatch(/^hello v1 deployed at /);
    expect(Date.parse(String(done!.body["at"]))).toBeGreaterThan(0);
    // Signed with the hook's own secret.
    for (const r of rx.at("/ok")) {
      expect(r.headers["x-gantry-signature-256"]).toBe(`sha256=${signBody(r.raw, ok.secret)}`);
      expect(r.headers["x-gantry-signature-256"]).not.toBe(`sha256=${signBody(r.raw, "other")}`);
    }
  }, 120_000);

  it("a receiver answering 500 twice gets the event once, on the 3rd attempt, after backoff", async () => {
    const flaky = await eventually("3 attempts at /flaky", () =>
      rx.at("/flaky").length >= 3 ? rx.at("/flaky") : undefined,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(rx.at("/flaky").map((r) => r.status)).toEqual([500, 500, 200]);
    expect(flaky.every((r) => r.body["event"] === "deploy.succeeded")).toBe(true);
    // About 1 s then 2 s (less at most a fifth of jitter).
    expect(flaky[1]!.at - flaky[0]!.at).toBeGreaterThanOrEqual(750);
    expect(flaky[2]!.at - flaky[1]!.at).toBeGreaterThanOrEqual(1550);
    const list = JSON.parse(await cli(["notifications", "hello", "--json"])) as HookView[];
    const hook = list.find((h) => h.url.endsWith("/flaky"))!;
    expect(hook.lastDelivery).toMatchObject({
      event: "deploy.succeeded",
      attempts: 3,
      status: 200,
    });
    expect(hook.lastError).toMatchObject({ attempts: 2, status: 500 });
    // The listing never shows the URL's query value nor a secret.
    const table = await cli(["notifications", "hello"]);
    expect(table).toContain(`${rx.url}/ok?token=***`);
    expect(table).not.toContain("sekrit");
    expect(table).not.toContain(ok.secret);
    expect(JSON.stringify(list)).not.toContain("sekrit");
  }, 60_000);

  it("a failing deploy tells deploy.failed with its error", async () => {
    await cli(["apps:create", "broken"]);
    await addHook(["broken", `${rx.url}/broken`]);
    const r = await g.cli(["apps:info", "broken", "--json"]);
    const gitUrl = (JSON.parse(r.stdout) as { gitUrl: string }).gitUrl;
    const repo = await localRepo(work, {
      "package.json": JSON.stringify({ name: "broken", scripts: { start: "node server.js" } }),
      "server.js": "console.error('boom: no database'); process.exit(3);\n",
    });
    await push(repo, withToken(gitUrl, g.token));
    await eventually(
      "deploy.failed at /broken",
      () => (events("/broken").includes("deploy.failed v1") ? true : undefined),
      60_000,
    );
    expect(events("/broken")).toEqual(["deploy.started v1", "deploy.failed v1"]);
    const failed = rx.at("/broken")[1]!.body;
    expect(failed).toMatchObject({ app: "broken", status: "failed" });
    expect(String(failed["error"])).not.toBe("");
    expect(String(failed["text"])).toContain(
      `broken: deploy of v1 failed: ${String(failed["error"])}`,
    );
  }, 120_000);

  it("a pipeline's hook hears a real promotion; a push whose tests fail tells test.failed", async () => {
    await cli([
      "pipelines:create",
      "hello",
      "--stage",
      "staging=hello",
      "--stage",
      "production=hello-prod",
    ]);
    pipe = await addHook(["--pipeline", "hello", `${rx.url}/pipe`]);
    await cli(["pipelines:promote", "hello"]);
    await eventually("deploy.succeeded of hello-prod at /pipe", () =>
      events("/pipe").includes("deploy.succeeded v1") ? true : undefined,
    );
    expect(events("/pipe")).toEqual(["promotion v1", "deploy.started v1", "deploy.succeeded v1"]);
    const p = rx.at("/pipe")[0]!;
    expect(p.body).toMatchObject({
      app: "hello-prod",
      pipeline: "hello",
      promotedFrom: { app: "hello", version: 1, pipeline: "hello" },
      text: "hello-prod v1: promoted from hello v1 (pipeline hello)",
    });
    expect(p.headers["x-gantry-signature-256"]).toBe(`sha256=${signBody(p.raw, pipe.secret)}`);
    expect(rx.at("/pipe").every((r) => r.body["app"] === "hello-prod")).toBe(true);
    // hello's own hook hears nothing of hello-prod.
    expect(events("/ok")).toEqual(["deploy.started v1", "deploy.succeeded v1"]);

    // A push whose tests fail: refused, told to hello's hook and to the pipeline's.
    const r = await g.cli(["apps:info", "hello", "--json"]);
    const gitUrl = (JSON.parse(r.stdout) as { gitUrl: string }).gitUrl;
    const repo = await localRepo(work, {
      "package.json": JSON.stringify({ name: "hello", private: true }),
      "server.js":
        "require('node:http').createServer((q, s) => s.end('hi')).listen(process.env.PORT);\n",
      "test.js": "console.log('1 test failed: adds'); process.exit(1);\n",
      Procfile: "web: node server.js\ntest: node test.js\n",
    });
    const pushed = await push(repo, withToken(gitUrl, g.token));
    expect(pushed.code).not.toBe(0);
    await eventually("test.failed at /ok and /pipe", () =>
      events("/ok").includes("test.failed") && events("/pipe").includes("test.failed")
        ? true
        : undefined,
    );
    const tf = rx.at("/ok").find((x) => x.body["event"] === "test.failed")!.body;
    expect(tf).toMatchObject({ app: "hello", status: "failed", pipeline: "hello" });
    expect(String(tf["build"])).toMatch(/^\d{8}-\d{6}-\d{3}-[0-9a-f]{4}$/);
    expect(String(tf["text"])).toMatch(/^hello: tests failed for build /);
    expect(events("/ok")).toEqual(["deploy.started v1", "deploy.succeeded v1", "test.failed"]);
  }, 180_000);

  it("a server restart resumes from its cursor: what happened while stopped is told once, nothing twice", async () => {
    const before = rx.received.length;
    const build: Build = {
      id: "20261207-120000-000-abcd",
      app: "hello",
      status: "building",
      commit: "c".repeat(40),
      startedAt: new Date().toISOString(),
      createdBy: "admin",
      test: { status: "running", command: "npm test", startedAt: new Date().toISOString() },
    };
    // Written as the tests step writes it, while no server (so no notifier) runs.
    await whileStopped(async (put) => {
      await put("builds/hello/20261207-120000-000-abcd", build);
      await put("builds/hello/20261207-120000-000-abcd", {
        ...build,
        status: "failed",
        error: "tests failed",
        test: { ...build.test, status: "failed", exitCode: 1, error: "1 test failed: adds" },
      });
    });
    await eventually("the second test.failed at /ok", () =>
      events("/ok").filter((e) => e === "test.failed").length === 2 ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 1500));
    const tf = rx.at("/ok").at(-1)!.body;
    expect(tf).toMatchObject({
      event: "test.failed",
      app: "hello",
      status: "failed",
      error: "1 test failed: adds",
      build: "20261207-120000-000-abcd",
      pipeline: "hello",
    });
    expect(String(tf["text"])).toContain("tests failed for build 20261207-120000-000-abcd");
    // Told to hello's hook and the pipeline's, and nothing else was sent again.
    expect(
      rx.received
        .slice(before)
        .map((r) => `${r.path} ${String(r.body["event"])}`)
        .sort(),
    ).toEqual(["/ok test.failed", "/pipe test.failed"]);

    // Stopped and started again with nothing new: nothing at all is sent.
    await g.stop();
    await g.start();
    await new Promise((r) => setTimeout(r, 3000));
    expect(rx.received.length).toBe(before + 2);
  }, 180_000);

  it("notifications:test sends a test event now; notifications:remove stops deliveries", async () => {
    const out = await cli(["notifications:test", "hello", ok.id]);
    expect(out).toContain("Delivered: the receiver answered 200");
    const last = rx.at("/ok").at(-1)!;
    expect(last.body).toMatchObject({ event: "test", app: "hello", pipeline: "hello" });
    expect(last.headers["x-gantry-signature-256"]).toBe(`sha256=${signBody(last.raw, ok.secret)}`);

    rx.script("/ok", [503]);
    const failed = await g.cli(["notifications:test", "hello", ok.id]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("Not delivered: the receiver answered 503");

    await cli(["notifications:remove", "hello", ok.id]);
    const list = JSON.parse(await cli(["notifications", "hello", "--json"])) as HookView[];
    expect(list.map((h) => h.id)).not.toContain(ok.id);
    const bad = await g.cli(["notifications:add", "hello", "ftp://example.com/x"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("url: must be an http:// or https:// URL");
  }, 60_000);
});
