/**
 * Runtime and container settings through the apps API (issue 12): `PUT /v1/apps/:app/settings`
 * with runtime/container makes a release of the same code so the instances move; config changes
 * and rollbacks keep an image release's exact digest. In-process over a real store; no deploy
 * controller runs (the releases stay pending).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appKey } from "../src/apps/keys.js";
import { AppsClient } from "../src/client/apps.js";
import { releaseKey, type App, type Release } from "../src/model/app.js";
import { text } from "../src/store/index.js";
import { errorOf, startTestApi, type TestApi } from "./helpers/api.js";

let t: TestApi;
let apps: AppsClient;

beforeAll(async () => {
  t = await startTestApi();
  apps = new AppsClient(t.admin);
});
afterAll(async () => {
  await t?.close();
});

const IMAGE = `127.0.0.1:5000/img@sha256:${"e1".repeat(32)}`;
const record = async <T>(key: string): Promise<T> =>
  JSON.parse(text((await t.store.get(key))!.value)) as T;

/** A serving release, as a build and its deploy would have left it. */
async function live(app: string, code: Partial<Release>): Promise<void> {
  const rel: Release = {
    app,
    version: 1,
    build: "b1",
    processTypes: { web: "node server.js" },
    configVersion: 0,
    config: {},
    description: "Deploy",
    createdAt: new Date().toISOString(),
    createdBy: "test",
    status: "active",
    ...code,
  };
  await t.store.put(releaseKey(app, 1), JSON.stringify(rel));
  const cur = await record<App>(appKey(app));
  await t.store.put(appKey(app), JSON.stringify({ ...cur, currentRelease: 1 }));
}

describe("apps:set through the API", () => {
  it("runtime=docker on a slug app: a release of the same artifact with runtime docker, audited", async () => {
    await apps.create("slug");
    await live("slug", { artifact: "a".repeat(64) });
    const answer = await apps.settings("slug", {
      runtime: "docker",
      container: { memoryMb: 256, readOnly: true },
    });
    expect(answer).toMatchObject({
      runtime: "docker",
      container: { memoryMb: 256, readOnly: true },
      newRelease: 2,
    });
    expect(await record<Release>(releaseKey("slug", 2))).toMatchObject({
      build: "b1",
      artifact: "a".repeat(64),
      runtime: "docker",
      status: "pending",
      description: "Set runtime=docker, memory=256M, read-only=true",
    });
    const audit = await t.admin.audit(20);
    expect(audit.some((e) => e.action === "app.settings" && e.target === "slug v2")).toBe(true);
  });

  it("build args and health path change the app only: no release", async () => {
    const answer = await apps.settings("slug", { buildArgs: ["NPM_TOKEN"], healthPath: "/up" });
    expect(answer.newRelease).toBeUndefined();
    expect(await record<App>(appKey("slug"))).toMatchObject({
      buildArgs: ["NPM_TOKEN"],
      healthPath: "/up",
    });
    expect(await t.store.get(releaseKey("slug", 3))).toBeUndefined();
  });

  it("container limits on an image app move it, still on docker (runtime is for slugs)", async () => {
    await apps.create("img");
    await live("img", { image: IMAGE, runtime: "docker", processTypes: { web: "" } });
    const answer = await apps.settings("img", { container: { memoryMb: 128 } });
    expect(answer.newRelease).toBe(2);
    expect(await record<Release>(releaseKey("img", 2))).toMatchObject({
      image: IMAGE,
      runtime: "docker",
      description: "Set memory=128M",
    });
  });

  it("names the container field it refuses", async () => {
    const err = await errorOf(apps.settings("img", { container: { pids: 1 } }));
    expect(err.status).toBe(400);
    expect(err.field).toBe("container.pids");
  });

  it("a config change and a rollback keep the image's exact digest and runtime", async () => {
    const changed = await apps.changeConfig("img", { set: { A: "1" } });
    expect(await record<Release>(releaseKey("img", changed.version))).toMatchObject({
      image: IMAGE,
      runtime: "docker",
    });
    const back = await apps.rollback("img", 1);
    const rel = await record<Release>(releaseKey("img", back.version));
    expect(rel).toMatchObject({ image: IMAGE, runtime: "docker", description: "Rollback to v1" });
    expect(rel.artifact).toBeUndefined();
  });
});
