import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openSqliteStore } from "../src/store/sqlite/index.js";

const CHILD = resolve(import.meta.dirname, "fixtures/sqlite-child.ts");
const ROUNDS = 20;
const dir = mkdtempSync(join(tmpdir(), "gantry-sqlite-crash-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Run the writer child and SIGKILL it 50–400 ms after its first acknowledged write (counting from
 * the first ack rather than from start-up keeps a slow disk from making a round with no acks).
 */
function writeThenKill(prefix: string): Promise<{ acked: string[]; killedAfterMs: number }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, "write", dir, prefix], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    const killedAfterMs = 50 + Math.floor(Math.random() * 351);
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => (err += d));
    let timer: ReturnType<typeof setTimeout> | undefined;
    child.stdout.on("data", (d: string) => {
      out += d;
      if (timer === undefined && /^ready\n.+\n/.test(out)) {
        timer = setTimeout(() => child.kill("SIGKILL"), killedAfterMs);
      }
    });
    child.on("error", reject);
    child.on("close", (_code, signal) => {
      if (signal !== "SIGKILL") {
        reject(new Error(`the writer exited on its own (${signal ?? "no signal"}): ${err}`));
        return;
      }
      // Only whole lines count: a line cut short by the kill was never fully acknowledged.
      const lines = out.split("\n").slice(1, -1);
      resolveRun({ acked: lines, killedAfterMs });
    });
  });
}

describe("sqlite store under kill -9", () => {
  it(`keeps every acknowledged write across ${ROUNDS} crashes`, async () => {
    let total = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const prefix = `crash/${round}/`;
      const { acked } = await writeThenKill(prefix);
      expect(acked.length).toBeGreaterThan(0);
      total += acked.length;

      // The killed process held the lock; the kernel released it, so this open must succeed.
      const store = await openSqliteStore({ dir });
      try {
        const got = await store.range({ prefix });
        const values = new Map(got.kvs.map((kv) => [kv.key, Buffer.from(kv.value).toString()]));
        const missing = acked.filter((key) => !values.get(key)?.startsWith(`value of ${key} `));
        expect(missing).toEqual([]);
        // Unacknowledged writes may have landed too, but nothing else.
        expect(got.count).toBeGreaterThanOrEqual(acked.length);
        expect((await store.status()).revision).toBeGreaterThanOrEqual(total);
      } finally {
        await store.close();
      }
    }
  }, 90_000); // ~20 s normally; the margin is for a loaded CI machine.
});
