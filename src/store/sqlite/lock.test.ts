import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { StoreLockedError, UnavailableError } from "../errors.js";
import { openSqliteStore } from "./index.js";
import { tempDirs } from "./test-dirs.js";

const dirs = tempDirs();
const CHILD = resolve(import.meta.dirname, "../../../test/fixtures/sqlite-child.ts");

afterEach(() => dirs.cleanup());

function openInChild(dir: string): string {
  const r = spawnSync(process.execPath, ["--import", "tsx", CHILD, "open", dir], {
    encoding: "utf8",
    timeout: 30_000,
  });
  return r.stdout.trim() || r.stderr;
}

describe("data directory lock", () => {
  it("refuses a second open in the same process, then allows it after close", async () => {
    const dir = dirs.make("lock");
    const first = await openSqliteStore({ dir });
    await first.put("k", "v");
    const err = await openSqliteStore({ dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreLockedError);
    expect((err as StoreLockedError).code).toBe("store_locked");
    expect((err as Error).message).toContain(dir);
    // The refused open changed nothing: the first store still works.
    expect((await first.get("k"))?.version).toBe(1);
    await first.close();
    const second = await openSqliteStore({ dir });
    expect((await second.get("k"))?.version).toBe(1);
    await second.close();
  });

  it("refuses another process while open, and lets it in once closed", async () => {
    const dir = dirs.make("lock2");
    const store = await openSqliteStore({ dir });
    expect(existsSync(join(dir, "store.pid"))).toBe(true);
    expect(openInChild(dir)).toBe("store_locked");
    await store.close();
    expect(existsSync(join(dir, "store.pid"))).toBe(false);
    expect(openInChild(dir)).toBe("opened");
  });

  it("answers UnavailableError after close, and a second close is harmless", async () => {
    const store = await openSqliteStore({ dir: dirs.make("closed") });
    await store.close();
    await store.close();
    await expect(store.status()).rejects.toBeInstanceOf(UnavailableError);
    await expect(store.grantLease(5)).rejects.toBeInstanceOf(UnavailableError);
  });
});
