/**
 * The apps API in-process over a real store and real HTTP, for the apps-api test files: one
 * server per file (`useAppsApi()` starts it before the file's tests and stops it after), and
 * the store reads and stand-ins for a build those tests share.
 */
import { afterAll, beforeAll } from "vitest";
import { appKey } from "../../src/apps/keys.js";
import type { AppService } from "../../src/apps/service.js";
import { AppsClient } from "../../src/client/apps.js";
import { releaseKey, type App, type Release } from "../../src/model/app.js";
import { text } from "../../src/store/index.js";
import { startTestApi, type TestApi } from "./api.js";

// Live bindings: set by useAppsApi's beforeAll, read by the tests.
export let t: TestApi;
export let apps: AppsClient;
export let svc: AppService;
export const ART_A = "a".repeat(64);
export const ART_B = "b".repeat(64);

/** Start the server (with node-a registered) before this file's tests; close it after. */
export function useAppsApi(): void {
  beforeAll(async () => {
    t = await startTestApi();
    apps = new AppsClient(t.admin);
    svc = t.api.deps.apps as AppService;
    await t.store.put("nodes/node-a", JSON.stringify({ name: "node-a" }));
  });
  afterAll(async () => {
    await t?.close();
  });
}

/** A key's value as text, or undefined when it is not there. */
export const raw = async (key: string): Promise<string | undefined> => {
  const kv = await t.store.get(key);
  return kv === undefined ? undefined : text(kv.value);
};
/** A key's record, parsed. */
export const record = async <T>(key: string): Promise<T> => JSON.parse((await raw(key))!) as T;

/** A release as a build would have made it and a deploy made it current (no controller here). */
export async function liveRelease(app: string, version: number, artifact: string, config = {}) {
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
