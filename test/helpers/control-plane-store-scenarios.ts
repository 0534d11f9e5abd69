/**
 * Control-plane scenarios about the store's guarantees, through real processes: racing CAS
 * clients, `kv put --cas`, a watch resumed across a restart, and acknowledged writes surviving
 * a SIGKILL (run by controlPlaneScenarios on both backends).
 */
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { GantryClient, type ApiKeyValue } from "../../src/client/client.js";
import type { Store } from "../../src/store/types.js";
import {
  decode,
  exited,
  failure,
  lines,
  range,
  sleep,
  startNode,
  stdoutLines,
  waitFor,
} from "./cli-processes.js";
import type { ControlPlane } from "./control-plane-scenarios.js";
import { spawnCli, type GantryProcess } from "./gantry.js";

const CAS_WORKER = resolve(import.meta.dirname, "../fixtures/cas-worker.mjs");

/** Racing writers, CAS, watch resume and crash durability, on the started control plane. */
export function storeScenarios(cp: ControlPlane): void {
  let g: GantryProcess;
  let admin: GantryClient;
  let direct: Store | undefined;
  beforeAll(() => {
    ({ g, admin, direct } = cp);
  });

  it("counts every increment of 8 racing client processes exactly once", async () => {
    const key = "race/counter";
    const perWorker = 5;
    const workers = range(8).map(() =>
      startNode([CAS_WORKER, g.url, g.token, key, String(perWorker)]),
    );
    await waitFor("8 ready workers", () => workers.every((w) => w.output().startsWith("ready\n")));
    for (const w of workers) w.child.stdin!.end("go\n"); // all at once
    const runs = await Promise.all(workers.map((w) => w.done));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const results = runs.map(
      (r) => JSON.parse(lines(r.stdout).at(-1)!) as { wrote: number[]; conflicts: number },
    );
    // Each value was written by exactly one winner: no lost update, no double count.
    const wrote = results.flatMap((r) => r.wrote).sort((a, b) => a - b);
    expect(wrote).toEqual(range(8 * perWorker, 1));
    expect(results.reduce((n, r) => n + r.conflicts, 0)).toBeGreaterThan(0);

    const got = await g.cli(["kv", "get", key, "--json"]);
    expect(got.code, got.stderr).toBe(0);
    const total = 8 * perWorker;
    expect(JSON.parse(got.stdout)).toMatchObject({ key, value: String(total), version: total });
  });

  it("lets exactly one of 8 racing `gantry kv put --cas` processes win; the others exit 1 with one line", async () => {
    const key = "race/leader";
    const cas = String(await admin.kvPut(key, "nobody"));

    const runs = await Promise.all(
      range(8).map((i) => g.cli(["kv", "put", key, `p${i}`, "--cas", cas])),
    );
    const winners = runs.flatMap((r, i) => (r.code === 0 ? [i] : []));
    expect(winners).toHaveLength(1);
    const winner = winners[0]!;
    expect(runs[winner]!.stdout).toMatch(/^ok \(revision \d+\)\n$/);
    const after = (await admin.kvGet(key))!;
    expect(decode(after.value)).toBe(`p${winner}`);
    for (const [i, r] of runs.entries()) {
      if (i === winner) continue;
      expect(r.code).toBe(1);
      expect(failure(r)).toEqual([
        `gantry: cas failed: expected modRevision ${cas}, but it is ${after.modRevision} (cas)`,
      ]);
    }

    // --cas 0 is create-only.
    const [exists, fresh] = await Promise.all([
      g.cli(["kv", "put", key, "again", "--cas", "0"]),
      g.cli(["kv", "put", "race/fresh", "first", "--cas", "0"]),
    ]);
    expect(failure(exists)).toEqual([
      `gantry: cas failed: expected modRevision 0, but it is ${after.modRevision} (cas)`,
    ]);
    expect(fresh.code, fresh.stderr).toBe(0);
  });

  it("resumes `gantry kv watch` across a server restart without missing or repeating an event", async () => {
    const { revision } = await admin.health();
    const watcher = spawnCli(
      ["kv", "watch", "watched/", "--json", "--from", String(revision + 1)],
      g.env,
    );
    let watcherErr = "";
    watcher.stderr!.on("data", (d: Buffer) => (watcherErr += d.toString()));
    const seen = stdoutLines(watcher);
    const expected: string[] = [];
    const put = async (key: string): Promise<void> => {
      await admin.kvPut(`watched/${key}`, `value of ${key}`);
      expected.push(`put ${key} value of ${key}`);
    };
    try {
      for (const i of range(30)) await put(`before/${i}`);
      await admin.kvDelete("watched/before/0");
      expected.push("delete before/0 ");
      await waitFor("the first events", () => seen.length >= expected.length);

      await g.stop();
      if (direct !== undefined) {
        // Gantry is down but etcd is not: these must reach the watcher once Gantry is back.
        for (const i of range(10)) {
          await direct.put(`kv/watched/meanwhile/${i}`, `value of meanwhile/${i}`);
          expected.push(`put meanwhile/${i} value of meanwhile/${i}`);
        }
      }
      await g.start();
      for (const i of range(30)) await put(`after/${i}`);
      await waitFor(
        `all ${expected.length} events (stderr: ${watcherErr})`,
        () => seen.length >= expected.length,
      );
      await sleep(300); // a repeated event would arrive about now
    } finally {
      watcher.kill("SIGINT");
    }
    expect(await exited(watcher)).toBe(0);

    const events = seen.map(
      (l) => JSON.parse(l) as { type: string; key: string; value: string; modRevision: number },
    );
    expect(events.map((e) => `${e.type} ${e.key.slice("watched/".length)} ${e.value}`)).toEqual(
      expected,
    );
    const revisions = events.map((e) => e.modRevision);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    expect(new Set(revisions).size).toBe(revisions.length);
  });

  it("keeps every one of 2,000+ acknowledged writes when the server is SIGKILLed mid-stream", async () => {
    const acked = new Map<string, string>();
    const salt = randomBytes(4).toString("hex");
    let killed = false;
    const writers = range(32).map(async (w) => {
      const c = new GantryClient({ addr: g.url, token: g.token });
      for (let n = 0; !killed; n++) {
        const key = `crash/${w}/${n}`;
        const value = `${salt}:${w}:${n}`;
        try {
          await c.kvPut(key, value);
        } catch {
          return; // the server is gone: this write was never acknowledged
        }
        acked.set(key, value);
      }
    });
    await waitFor("2,000 acknowledged writes", () => acked.size >= 2000, 60_000);
    killed = true;
    await g.kill(); // writes are still in flight
    await Promise.all(writers);
    const acknowledged = new Map(acked);
    expect(acknowledged.size).toBeGreaterThanOrEqual(2000);

    await g.start();
    const list = (await admin.kvList("crash/")) as ApiKeyValue[];
    const stored = new Map(list.map((e) => [e.key, decode(e.value)]));
    const lost = [...acknowledged].filter(([k, v]) => stored.get(k) !== v).map(([k]) => k);
    expect(lost).toEqual([]);
  });
}
