import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AppConnection } from "../model/connect.js";
import { openStore, type Store } from "../store/index.js";
import {
  claimBuild,
  connectKey,
  dropClaim,
  finishBuild,
  readConnection,
  rememberDelivery,
} from "./connect-records.js";

let dir: string;
let store: Store;
const A = "a".repeat(40);
const B = "b".repeat(40);

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "gantry-connect-records-"));
  store = await openStore(dir);
  const c: AppConnection = {
    app: "web",
    repo: "https://example.com/web.git",
    branch: "main",
    secret: "sealed",
    pollMs: 60_000,
    createdBy: "admin",
    createdAt: new Date().toISOString(),
  };
  await store.put(connectKey("web"), JSON.stringify(c));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the once-per-commit claim", () => {
  it("lets one claimant build a commit; the others hear it is building, then built", async () => {
    const claims = await Promise.all([1, 2, 3].map((i) => claimBuild(store, "web", A, `s${i}`)));
    expect(claims.filter((c) => c === "claimed")).toHaveLength(1);
    expect(claims.filter((c) => c === "building")).toHaveLength(2);
    // Another commit may be claimed meanwhile (a newer push).
    expect(await claimBuild(store, "web", B, "s1")).toBe("claimed");
    await finishBuild(store, "web", A, { build: "b1", ok: false, error: "npm failed" });
    expect(await claimBuild(store, "web", A, "s2")).toBe("built");
    const { record } = (await readConnection(store, "web"))!;
    expect(record).toMatchObject({
      lastCommit: A,
      lastBuild: "b1",
      lastResult: "failed",
      lastError: "npm failed",
    });
    expect(record.building?.commit).toBe(B);
  });

  it("a claim dropped (the fetch failed) can be taken again; a gone connection is gone", async () => {
    expect(await claimBuild(store, "web", A, "s1")).toBe("claimed");
    await dropClaim(store, "web", A, "cannot fetch");
    expect((await readConnection(store, "web"))!.record.lastError).toBe("cannot fetch");
    expect(await claimBuild(store, "web", A, "s1")).toBe("claimed");
    expect(await claimBuild(store, "other", A, "s1")).toBe("gone");
  });
});

describe("delivery ids", () => {
  it("are taken once, also when two arrive at the same time", async () => {
    const first = await Promise.all([
      rememberDelivery(store, "web", "d1"),
      rememberDelivery(store, "web", "d1"),
    ]);
    expect(first.sort()).toEqual([false, true]);
    expect(await rememberDelivery(store, "web", "d1")).toBe(false);
    expect(await rememberDelivery(store, "web", "d2")).toBe(true);
    const kv = await store.get("connect/deliveries/web/d1");
    expect(kv?.lease).not.toBe("0");
  });
});
