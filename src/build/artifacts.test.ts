import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteStore } from "../store/sqlite/index.js";
import type { Store } from "../store/index.js";
import { ArtifactStore, gcArtifacts } from "./artifacts.js";

let dir: string;
let store: Store;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "gantry-artifacts-"));
  store = await openSqliteStore({ dir: join(dir, "store"), durability: "process" });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function* bytes(s: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(s);
}

const SHA_HELLO = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

describe("ArtifactStore", () => {
  it("stores content under its sha256, idempotently, leaving no temporary files", async () => {
    const a = new ArtifactStore(dir);
    const first = await a.put(bytes("hello"));
    expect(first).toEqual({ sha: SHA_HELLO, size: 5 });
    const again = await a.put(bytes("hello"));
    expect(again.sha).toBe(SHA_HELLO);
    expect(readdirSync(a.dir)).toEqual([`${SHA_HELLO}.tar.gz`]);
    expect(a.has(SHA_HELLO)).toBe(true);
    const { stream, size } = a.open(SHA_HELLO);
    let text = "";
    for await (const c of stream) text += String(c);
    expect([text, size]).toEqual(["hello", 5]);
    expect(a.remove(SHA_HELLO)).toBe(true);
    expect(a.has(SHA_HELLO)).toBe(false);
    expect(a.remove(SHA_HELLO)).toBe(false);
  });

  it("refuses ids that are not a sha256 (no path tricks)", () => {
    const a = new ArtifactStore(dir);
    expect(() => a.path("../../etc/passwd")).toThrow(/64 lower-case hex digits/);
    expect(a.has("../x")).toBe(false);
    expect(() => a.open("0".repeat(64))).toThrow(/not found/);
  });
});

describe("gcArtifacts", () => {
  const old = new Date(Date.now() - 24 * 3600_000);

  async function stored(content: string): Promise<string> {
    const a = new ArtifactStore(dir);
    const { sha } = await a.put(bytes(content));
    utimesSync(a.path(sha), old, old);
    return sha;
  }

  it("removes what no release references and keeps the rest", async () => {
    const used = await stored("used");
    const orphan = await stored("orphan");
    const recentBuild = await stored("recent build");
    await store.put("releases/hello/00000001", JSON.stringify({ artifact: used }));
    await store.put(
      "builds/hello/1",
      JSON.stringify({
        status: "succeeded",
        artifact: recentBuild,
        startedAt: new Date().toISOString(),
        finishedAt: new Date().toISOString(),
      }),
    );
    const r = await gcArtifacts(dir, store);
    expect(r.removed).toEqual([orphan]);
    expect(r.kept).toBe(2);
    const a = new ArtifactStore(dir);
    expect([a.has(used), a.has(orphan), a.has(recentBuild)]).toEqual([true, false, true]);
    // Once the grace period is over, a build's artifact without a release goes too.
    const later = await gcArtifacts(dir, store, { now: Date.now() + 3600_000 });
    expect(later.removed).toEqual([recentBuild]);
  });

  it("keeps files written since a running build started", async () => {
    const a = new ArtifactStore(dir);
    await store.put(
      "builds/hello/2",
      JSON.stringify({ status: "building", startedAt: new Date(Date.now() - 5000).toISOString() }),
    );
    const { sha: fresh } = await a.put(bytes("being built"));
    const older = await stored("older");
    const r = await gcArtifacts(dir, store);
    expect(r.removed).toEqual([older]);
    expect(existsSync(a.path(fresh))).toBe(true);
  });

  it("refreshes the mtime of an artifact stored again, so a GC racing a build keeps it", async () => {
    const sha = await stored("same");
    const a = new ArtifactStore(dir);
    expect(statSync(a.path(sha)).mtimeMs).toBeLessThan(Date.now() - 3600_000);
    await a.put(bytes("same"));
    expect(statSync(a.path(sha)).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
  });
});
